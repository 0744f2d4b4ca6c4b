/**
 * Crash-consistent start (issue 5): a worker process SIGKILLed at each named
 * step of the start pipeline — once per step, one game per step — and
 * restarted. Afterwards every game has exactly one container, a running
 * record naming that container, an audit trail, and no lease left behind.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Queue } from 'bullmq';
import Dockerode from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_STEPS } from '../../src/domain/start.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import type { QueueName } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { RecordingLogger } from '../fakes/support.js';
import type { TestDatabase } from '../support/db.js';
import { openCrashRun, spawnCrashWorker } from '../support/crash-worker-run.js';
import { testLabelsEnv, testRedisUrl } from '../support/services.js';

const run = randomUUID().slice(0, 6);
const STEPS = START_STEPS.filter((s) => s !== 'validate_input');
const gameOf = (step: string) => `c${run}-${step.replace(/_/g, '-')}`.slice(0, 52);

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
let database: TestDatabase;
let redis: Redis;
let tmp: string;
let env: NodeJS.ProcessEnv;
let crashRun: Awaited<ReturnType<typeof openCrashRun>>;
let output = '';

beforeAll(async () => {
  crashRun = await openCrashRun(`crash${run}`);
  ({ database, redis, tmp } = crashRun);
  env = {
    ...crashRun.env,
    RTMANAGER_RECONCILE_INTERVAL_MS: '3600000',
    RTMANAGER_WORKER_CONCURRENCY: '1',
    RTMANAGER_JOB_LOCK_MS: '2000',
    // Renewed every second while its holder lives: a killed worker's game is free again within 3 s.
    RTMANAGER_GAME_LEASE_TTL_MS: '3000',
    RTMANAGER_JOB_BACKOFF_MS: '200',
    RTMANAGER_TEST_CRASH_AT: STEPS.map((s) => `${gameOf(s)}:${s}`).join(','),
    RTMANAGER_TEST_CRASH_MARKER_DIR: tmp,
    RTMANAGER_CONTAINER_EXTRA_LABELS: testLabelsEnv({ 'com.galaxy.test_run': `crash${run}` }),
  };
});

afterAll(() => crashRun.cleanup(`galaxy-game-c${run}-`));

const spawnWorker = (): ChildProcess => spawnCrashWorker(env, (text) => (output += text));

describe('a worker killed at every step of start', () => {
  it('converges: one container per game, a true record, an audit trail, no lease left', { timeout: 240_000 }, async () => {
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection, prefix: `crash${run}` })])) as Record<QueueName, Queue>;
    const enqueuer = createEnqueuer({ queues, redis, logger: new RecordingLogger(), attempts: 5, backoffMs: 200 });
    for (const step of STEPS) {
      await enqueuer.enqueue('start', { gameId: gameOf(step), imageRef: 'galaxy-test-engine:labelled', opSource: 'gm_rest', sourceRef: `crash-${step}` });
    }

    const deadline = Date.now() + 200_000;
    const began = Date.now();
    let crashes = 0;
    let worker = spawnWorker();
    try {
      for (;;) {
        const counts = await queues['start-runtime'].getJobCounts('completed', 'failed');
        if (counts.completed! + counts.failed! === STEPS.length) break;
        if (Date.now() > deadline) throw new Error(`not done in time: ${JSON.stringify(counts)}\n${output.slice(-3000)}`);
        if (worker.exitCode !== null || worker.signalCode !== null) {
          expect(worker.signalCode).toBe('SIGKILL');
          crashes += 1;
          worker = spawnWorker();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null || worker.signalCode !== null ? r(null) : worker.once('exit', r)));
    }

    // Every step was crashed at once: its marker exists.
    expect((await readdir(tmp)).filter((f) => f.startsWith(`c${run}`)).sort()).toEqual(STEPS.map((s) => `${gameOf(s)}.${s}`).sort());
    expect(crashes).toBe(STEPS.length);
    console.log(
      `worker SIGKILLed ${crashes} times (one per step); all ${STEPS.length} starts done in ${Date.now() - began} ms, ≈ ${Math.round((Date.now() - began) / crashes)} ms per kill → restart → stalled job picked up (job lock 2 s; 10 s by default)`,
    );
    expect(await queues['start-runtime'].getJobCounts('failed')).toEqual({ failed: 0 });

    const records = new PostgresRuntimeRecordStore(database.db);
    const operations = new PostgresOperationLog(database.db);
    for (const step of STEPS) {
      const gameId = gameOf(step);
      const containers = await docker.listContainers({ all: true, filters: { label: [`com.galaxy.game_id=${gameId}`] } });
      const record = await records.get(gameId);
      const audit = await operations.listByGame(gameId, 20);
      // When it fails, say what happened to this game: its record, its audit trail, the workers' last words.
      const story = `${step}\nrecord: ${JSON.stringify(record)}\naudit: ${JSON.stringify(audit.map((e) => [e.opKind, e.outcome, e.errorCode, e.errorMessage, e.containerId.slice(0, 12)]))}\n${output.slice(-4000)}`;
      expect(
        containers.map((c) => [c.Names[0], c.State]),
        story,
      ).toEqual([[`/galaxy-game-${gameId}`, 'running']]);
      expect(record, step).toMatchObject({ status: 'running', currentContainerId: containers[0]!.Id });
      expect(
        audit.some((e) => e.opKind === 'start' && e.outcome === 'success' && e.containerId === containers[0]!.Id),
        step,
      ).toBe(true);
      expect(await redis.exists(`rtmanager:lease:${gameId}`), step).toBe(0);
    }
    for (const q of Object.values(queues)) await q.close();
    connection.disconnect();
  });
});
