import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { InProcessSystem } from '../support/in-process-system.js';
import { inProcessSystem } from '../support/in-process-system.js';
import { testRedisUrl } from '../support/services.js';

/** Adds a line to `starts` at each run; exits 3 once `crash` is in its state directory (two seconds in at the earliest). */
const CRASHY = 'galaxy-test-engine:crashy';
const systems: InProcessSystem[] = [];
const redis = new Redis(testRedisUrl());

async function system(env: Record<string, string>): Promise<InProcessSystem> {
  const s = await inProcessSystem({ RTMANAGER_CRASH_RESTART_WINDOW_MS: '600000', RTMANAGER_RECONCILE_INTERVAL_MS: '3600000', ...env });
  systems.push(s);
  return s;
}

const stateFile = (s: InProcessSystem, gameId: string, name: string) => path.join(s.config.container.gameStateRoot, gameId, name);
const starts = async (s: InProcessSystem, gameId: string) =>
  existsSync(stateFile(s, gameId, 'starts')) ? (await readFile(stateFile(s, gameId, 'starts'), 'utf8')).split('\n').length - 1 : 0;

interface RecordJson {
  status: string;
  current_container_id: string | null;
  restart_count: number;
  last_exit_code: number | null;
}

async function record(s: InProcessSystem, gameId: string): Promise<RecordJson> {
  const headers: Record<string, string> = s.config.auth.disabled ? {} : { authorization: `Bearer ${s.config.auth.apiToken}` };
  return (await (await fetch(`${s.base}/api/v1/internal/runtimes/${gameId}`, { headers })).json()) as RecordJson;
}

async function healthEvents(s: InProcessSystem, gameId: string): Promise<Array<{ type: string; details: Record<string, unknown> }>> {
  const entries = await redis.xrange(s.config.streams.healthEvents, '-', '+');
  return entries
    .map(([, flat]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]!]] : []))) as Record<string, string>)
    .filter((f) => f.game_id === gameId)
    .map((f) => ({ type: f.event_type!, details: JSON.parse(f.details ?? '{}') as Record<string, unknown> }));
}

/** Started, running, and crashing from now on (the `crash` file), or not. */
async function startCrashy(s: InProcessSystem, gameId: string): Promise<void> {
  expect(await s.post(gameId, 'start', { image_ref: CRASHY })).toBe(202);
  expect(await s.finished(gameId)).toMatchObject({ outcome: 'success' });
}

/**
 * Contract §15's crash policy through the whole system (the worker's events
 * follower, the reconciler, the crash-restart queue, the order), on the
 * backend RTM_TEST_BACKEND names: run by test/integration on one engine and
 * by test/swarm on the one-node swarm.
 */
export function crashPolicySuite(): void {
  afterEach(async () => {
    await Promise.all(systems.splice(0).map((s) => s.cleanup()));
  });
  afterAll(() => redis.disconnect());

  it(
    'an engine that keeps crashing is restarted RTMANAGER_CRASH_RESTART_MAX times, then declared a crash loop and left exited',
    { timeout: 120_000 },
    async () => {
      const s = await system({ RTMANAGER_CRASH_RESTART_MAX: '2', RTMANAGER_CRASH_RESTART_BACKOFF_MS: '200' });
      const gameId = s.gameId('loop');
      await startCrashy(s, gameId);
      await writeFile(stateFile(s, gameId, 'crash'), '');

      await expect.poll(async () => (await healthEvents(s, gameId)).map((e) => e.type), { timeout: 90_000, interval: 250 }).toContain('container_crash_loop');
      const events = await healthEvents(s, gameId);
      expect(events.filter((e) => e.type === 'container_restarted').map((e) => [e.details.attempt, e.details.exit_code])).toEqual([
        [1, 3],
        [2, 3],
      ]);
      expect(events.find((e) => e.type === 'container_crash_loop')?.details).toMatchObject({ restarts: 2, exit_code: 3, reason: 'exit' });
      expect(await record(s, gameId)).toMatchObject({ status: 'exited', restart_count: 2, last_exit_code: 3 });
      expect(await starts(s, gameId)).toBe(3);
      expect((await s.intents()).filter((i) => i.includes('runtime.container_crash_loop') && i.includes(gameId))).toHaveLength(1);
      const rows = await s.operations(gameId);
      expect(rows.filter((r) => r.op_kind === 'restart').map((r) => [r.outcome, r.error_code])).toEqual([
        ['failure', 'container_start_failed'],
        ['success', ''],
        ['success', ''],
      ]);
      // No more restarts come: the engine stays down.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await starts(s, gameId)).toBe(3);
    },
  );

  it('an engine restarted after a crash that then stays up: running again, restart_count 1', { timeout: 90_000 }, async () => {
    const s = await system({ RTMANAGER_CRASH_RESTART_MAX: '3', RTMANAGER_CRASH_RESTART_BACKOFF_MS: '1000' });
    const gameId = s.gameId('once');
    await startCrashy(s, gameId);
    const first = (await record(s, gameId)).current_container_id;
    await writeFile(stateFile(s, gameId, 'crash'), '');
    // Exited and told; the restart waits out its second of backoff: the next engine will not crash.
    await expect.poll(async () => (await record(s, gameId)).status, { timeout: 30_000, interval: 100 }).toBe('exited');
    await rm(stateFile(s, gameId, 'crash'));
    await expect.poll(async () => (await record(s, gameId)).status, { timeout: 30_000, interval: 200 }).toBe('running');
    const now = await record(s, gameId);
    expect(now).toMatchObject({ restart_count: 1, last_exit_code: 3 });
    expect(now.current_container_id).not.toBe(first);
    expect(await starts(s, gameId)).toBe(2);
  });

  it('a stop accepted during the backoff wins: the game stays stopped, the crash restart changes nothing', { timeout: 90_000 }, async () => {
    const s = await system({ RTMANAGER_CRASH_RESTART_MAX: '3', RTMANAGER_CRASH_RESTART_BACKOFF_MS: '3000' });
    const gameId = s.gameId('stopwins');
    await startCrashy(s, gameId);
    await writeFile(stateFile(s, gameId, 'crash'), '');
    await expect.poll(async () => (await record(s, gameId)).status, { timeout: 30_000, interval: 100 }).toBe('exited');
    expect(await s.post(gameId, 'stop')).toBe(202);
    await expect.poll(async () => (await record(s, gameId)).status, { timeout: 30_000, interval: 100 }).toBe('stopped');
    // The backoff has passed and its restart has run: superseded, nothing started.
    await expect
      .poll(async () => (await s.operations(gameId)).find((r) => r.op_kind === 'restart'), { timeout: 30_000, interval: 250 })
      .toMatchObject({ outcome: 'failure', error_code: 'superseded' });
    expect(await record(s, gameId)).toMatchObject({ status: 'stopped', restart_count: 0 });
    expect(await starts(s, gameId)).toBe(1);
  });

  describe('RTMANAGER_CRASH_RESTART_MAX=0 (the default)', () => {
    it('a crashed engine is recorded exited and not restarted', { timeout: 60_000 }, async () => {
      const s = await system({ RTMANAGER_CRASH_RESTART_BACKOFF_MS: '0' });
      const gameId = s.gameId('never');
      await startCrashy(s, gameId);
      await writeFile(stateFile(s, gameId, 'crash'), '');
      await expect.poll(async () => (await record(s, gameId)).status, { timeout: 30_000, interval: 100 }).toBe('exited');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await record(s, gameId)).toMatchObject({ status: 'exited', restart_count: 0, last_exit_code: 3 });
      expect(await starts(s, gameId)).toBe(1);
    });
  });
}
