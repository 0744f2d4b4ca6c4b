/**
 * Every process observable (contract §13), on the Procfile processes with
 * real Redis, Postgres and Docker: the worker and the intake each serve
 * /healthz, /readyz and /metrics on their own port; the worker's /metrics
 * carries the start series; its /readyz is 503 while its BullMQ workers
 * drain on SIGTERM; operation_log retention runs as a scheduled job; `all`
 * mode opens no ops port.
 *
 * Docker is reached through an endpoint whose pulls take PULL_MS (pull policy
 * `always`): a start then stays active long enough to watch a worker drain.
 */
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { count, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationLog } from '../../src/infra/db/schema.js';
import type { FaultSystem } from '../faults/support.js';
import { faultSystem, until } from '../faults/support.js';
import type { SlowPullDaemon } from '../support/slow-pull-daemon.js';
import { slowPullDaemon } from '../support/slow-pull-daemon.js';

const IMAGE = 'galaxy-test-engine:labelled';
const PULL_MS = 6_000;
const OLD_ROWS = 2_500;

let s: FaultSystem;
let daemon: SlowPullDaemon;
let worker: ChildProcess;

/** Rows written straight into the table: 100 days old (past the default 90), 89 days old, and today's. */
async function seedOperationLog(): Promise<void> {
  const row = (prefix: string, age: string) => sql`
    insert into operation_log (game_id, op_kind, op_source, outcome, started_at, finished_at)
    select ${prefix} || i, 'start', 'gm_rest', 'success', now() - ${age}::interval, now() - ${age}::interval + i * interval '1 second'
    from generate_series(1, ${prefix === 'old-' ? OLD_ROWS : 10}) as i`;
  await s.database.db.execute(row('old-', '100 days'));
  await s.database.db.execute(row('kept-', '89 days'));
  await s.database.db.execute(row('fresh-', '1 hour'));
}

const rowsLike = async (pattern: string): Promise<number> =>
  (await s.database.db.select({ n: count() }).from(operationLog).where(like(operationLog.gameId, pattern)))[0]!.n;

const answer = (url: string) =>
  fetch(url).then(
    async (res) => ({ status: res.status, body: await res.text() }),
    (error: unknown) => ({ status: 0, body: String((error as Error).cause ?? error) }),
  );

/** The sample lines of one metric family. */
const samples = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

/** `rtmanager_ready{check}` as { check: value }. */
const readyGauge = (text: string): Record<string, number> =>
  Object.fromEntries(
    samples(text, 'rtmanager_ready').map((line): [string, number] => [/check="([^"]+)"/.exec(line)?.[1] ?? '', Number(line.split(' ').at(-1))]),
  );

/** POST start, then the record running: the pull alone takes PULL_MS. */
async function startedThroughTheApi(gameId: string): Promise<void> {
  expect((await s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE })).status).toBe(202);
  await until(
    () => s.records.get(gameId),
    (r) => r?.status === 'running',
    45_000,
    `start of ${gameId}\n${s.output()}`,
  );
}

beforeAll(async () => {
  daemon = await slowPullDaemon({ pullMs: PULL_MS });
  s = await faultSystem({ env: { RTMANAGER_DOCKER_HOST: daemon.host, RTMANAGER_DOCKER_PULL_POLICY: 'always' } });
  await seedOperationLog();
  s.start('web');
  worker = s.start('worker');
  s.start('intake');
  await s.waitReady();
  for (const base of Object.values(s.opsBase)) {
    await until(
      () => answer(`${base}/readyz`),
      (a) => a.status === 200,
      60_000,
      `${base}/readyz\n${s.output()}`,
    );
  }
}, 120_000);

afterAll(async () => {
  await s?.cleanup();
  await daemon?.close();
});

describe('every process observable (contract §13)', () => {
  it('worker and intake each answer /healthz and /readyz on their own port, with the checks of their role', async () => {
    for (const base of Object.values(s.opsBase)) expect(await answer(`${base}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect(JSON.parse((await answer(`${s.opsBase.worker}/readyz`)).body)).toEqual({
      status: 'ready',
      checks: { redis: 'ok', postgres: 'ok', docker: 'ok', workers: 'ok' },
    });
    expect(JSON.parse((await answer(`${s.opsBase.intake}/readyz`)).body)).toEqual({ status: 'ready', checks: { redis: 'ok', postgres: 'ok', intake: 'ok' } });
    // The web process alone: its own three, not the other processes' roles.
    expect(JSON.parse((await answer(`${s.base}/readyz`)).body)).toEqual({ status: 'ready', checks: { redis: 'ok', postgres: 'ok', docker: 'ok' } });
  });

  it("the worker's /metrics carries the §9 series its pipelines produce after a start", { timeout: 60_000 }, async () => {
    await startedThroughTheApi(s.gameId('metered'));
    // The job completes just after the record is written.
    const metrics = await until(
      () => answer(`${s.opsBase.worker}/metrics`),
      (a) => a.body.includes('rtmanager_queue_jobs{queue="start-runtime",state="completed"} 1'),
      15_000,
      'worker metrics',
    );
    expect(metrics.status).toBe(200);
    const text = metrics.body;
    expect(samples(text, 'rtmanager_start_outcomes_total')).toEqual(['rtmanager_start_outcomes_total{outcome="success",error_code="",op_source="gm_rest"} 1']);
    // The start's lease, and the events follower's look at the game it started.
    expect(samples(text, 'rtmanager_lease_acquire_latency_seconds_count')).toEqual([
      expect.stringMatching(/^rtmanager_lease_acquire_latency_seconds_count [1-9]\d*$/),
    ]);
    expect(samples(text, 'rtmanager_docker_op_latency_seconds_count').join('\n')).toMatch(/\{op="pull"\} 1$/m);
    expect(samples(text, 'rtmanager_health_events_total')).toContain('rtmanager_health_events_total{event_type="container_started"} 1');
    expect(readyGauge(text)).toEqual({ redis: 1, postgres: 1, docker: 1, workers: 1 });
    const intake = (await answer(`${s.opsBase.intake}/metrics`)).body;
    expect(readyGauge(intake)).toEqual({ redis: 1, postgres: 1, intake: 1 });
  });

  it('a scheduled job deleted the operation_log rows older than 90 days, and kept the newer ones', { timeout: 60_000 }, async () => {
    const queue = new Queue('operation-log-retention', { connection: s.redis, prefix: s.run });
    const scheduler = await queue.getJobScheduler('operation-log-retention-every').finally(() => queue.close());
    expect(scheduler).toMatchObject({ name: 'operation-log-retention' });
    expect(Number(scheduler?.every)).toBe(3_600_000);
    // Its first run fires when the worker registers it.
    await until(
      () => rowsLike('old-%'),
      (n) => n === 0,
      30_000,
      `old rows deleted\n${s.output()}`,
    );
    expect([await rowsLike('kept-%'), await rowsLike('fresh-%')]).toEqual([10, 10]);
    const metrics = (await answer(`${s.opsBase.worker}/metrics`)).body;
    expect(samples(metrics, 'rtmanager_operation_log_pruned_rows_total')).toEqual([`rtmanager_operation_log_pruned_rows_total ${OLD_ROWS}`]);
  });

  it("the worker's /readyz answers 503 while its BullMQ workers drain on SIGTERM; the active start still completes", { timeout: 90_000 }, async () => {
    const gameId = s.gameId('draining');
    const pullsBefore = daemon.pulls();
    expect((await s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE })).status).toBe(202);
    // The start is active, in its pull.
    await until(
      () => daemon.pulls(),
      (n) => n > pullsBefore,
      30_000,
      `pull begun\n${s.output()}`,
    );
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');

    const notReady = await until(
      () => answer(`${s.opsBase.worker}/readyz`),
      (a) => a.status !== 200,
      PULL_MS,
      'worker not ready while draining',
    );
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toMatchObject({
      status: 'not_ready',
      checks: { redis: 'ok', postgres: 'ok', workers: expect.stringMatching(/^BullMQ workers not running: .*start-runtime/) },
      error: { code: 'service_unavailable', message: expect.stringMatching(/^workers not ready/) },
    });
    // Still alive and still scraped while it drains.
    expect((await answer(`${s.opsBase.worker}/healthz`)).status).toBe(200);
    expect(readyGauge((await answer(`${s.opsBase.worker}/metrics`)).body)).toEqual({ redis: 1, postgres: 1, docker: 1, workers: 0 });

    expect(await exited).toBe(0);
    expect(await s.records.get(gameId)).toMatchObject({ status: 'running' });
    const [audit] = await s.operations.listByGame(gameId, 1, 'start');
    expect(audit).toMatchObject({ outcome: 'success' });
    expect((await answer(`${s.opsBase.worker}/healthz`)).status).toBe(0);
  });

  it('in `all` mode the web port serves everything and the ops ports are not opened', { timeout: 90_000 }, async () => {
    await s.kill('intake', 'SIGTERM');
    await s.kill('web', 'SIGTERM');
    s.start('all');
    await s.waitReady();
    const ready = await until(
      () => answer(`${s.base}/readyz`),
      (a) => a.status === 200,
      30_000,
      `all ready\n${s.output()}`,
    );
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { workers: 'ok', redis: 'ok', postgres: 'ok', docker: 'ok', intake: 'ok' } });
    for (const base of Object.values(s.opsBase)) {
      const refused = await answer(`${base}/healthz`);
      expect(refused.status, base).toBe(0);
      expect(refused.body, base).toContain('ECONNREFUSED');
    }

    await startedThroughTheApi(s.gameId('all-mode'));
    const metrics = (await answer(`${s.base}/metrics`)).body;
    expect(samples(metrics, 'rtmanager_start_outcomes_total')).toEqual([
      'rtmanager_start_outcomes_total{outcome="success",error_code="",op_source="gm_rest"} 1',
    ]);
    expect(readyGauge(metrics)).toEqual({ redis: 1, postgres: 1, docker: 1, workers: 1, intake: 1 });
  });
});
