/**
 * Contract §15: "a manager killed mid-restart restarts exactly once". A
 * worker process SIGKILLed at each named step of a crash restart — once per
 * step, one game per step, only in the crash policy's own jobs — and
 * started again. Each game's engine crashed once: afterwards it ran exactly
 * twice (its state directory counts the runs), its record is running with
 * restart_count 1, it has one container, and one crash restart succeeded.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import Dockerode from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import type { StepName } from '../../src/domain/lifecycle.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import type { QueueName } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { RecordingLogger } from '../fakes/support.js';
import type { TestDatabase } from '../support/db.js';
import { openCrashRun, spawnCrashWorker } from '../support/crash-worker-run.js';
import { testLabelsEnv, testRedisUrl } from '../support/services.js';

const run = randomUUID().slice(0, 6);
/** A crash restart's steps, in order (a step met twice, like upsert_record, is killed at its first meeting). */
const STEPS: StepName[] = [
  'load_record',
  'judge_crash',
  'count_restarts',
  'find_container',
  'stop_container',
  'remove_container',
  'start',
  'converge_container',
  'run_container',
  'upsert_record',
  'publish_success',
];
const gameOf = (step: string) => `k${run}-${step.replace(/_/g, '-')}`.slice(0, 52);

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
let database: TestDatabase;
let redis: Redis;
let tmp: string;
let env: NodeJS.ProcessEnv;
let crashRun: Awaited<ReturnType<typeof openCrashRun>>;
let output = '';
const stateFile = (gameId: string, name: string) => path.join(tmp, 'state', gameId, name);

beforeAll(async () => {
  crashRun = await openCrashRun(`crashpol${run}`);
  ({ database, redis, tmp } = crashRun);
  env = {
    ...crashRun.env,
    // Deaths while no worker listens are found by the next pass.
    RTMANAGER_RECONCILE_INTERVAL_MS: '2000',
    RTMANAGER_WORKER_CONCURRENCY: '2',
    RTMANAGER_JOB_LOCK_MS: '2000',
    RTMANAGER_GAME_LEASE_TTL_MS: '3000',
    RTMANAGER_JOB_BACKOFF_MS: '200',
    RTMANAGER_STOP_TIMEOUT_SECONDS: '1',
    RTMANAGER_CRASH_RESTART_MAX: '5',
    // Long enough for the test to take the `crash` file away before the restarted engine looks for it.
    RTMANAGER_CRASH_RESTART_BACKOFF_MS: '1500',
    RTMANAGER_TEST_CRASH_AT: STEPS.map((s) => `${gameOf(s)}:${s}`).join(','),
    RTMANAGER_TEST_CRASH_SOURCE: 'crash_policy',
    RTMANAGER_TEST_CRASH_MARKER_DIR: tmp,
    RTMANAGER_CONTAINER_EXTRA_LABELS: testLabelsEnv({ 'com.galaxy.test_run': `crashpol${run}` }),
  };
});

afterAll(() => crashRun.cleanup(`galaxy-game-k${run}-`));

const spawnWorker = (): ChildProcess => spawnCrashWorker(env, (text) => (output += text));

const engineRuns = async (gameId: string) =>
  existsSync(stateFile(gameId, 'starts')) ? (await readFile(stateFile(gameId, 'starts'), 'utf8')).split('\n').length - 1 : 0;

describe('a worker killed at every step of a crash restart', () => {
  it('restarts each crashed engine exactly once', { timeout: 300_000 }, async () => {
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection, prefix: `crashpol${run}` })])) as Record<QueueName, Queue>;
    const enqueuer = createEnqueuer({ queues, redis, logger: new RecordingLogger(), attempts: 5, backoffMs: 200 });
    const records = new PostgresRuntimeRecordStore(database.db);
    const operations = new PostgresOperationLog(database.db);
    const games = STEPS.map(gameOf);
    for (const gameId of games) {
      await enqueuer.enqueue('start', { gameId, imageRef: 'galaxy-test-engine:crashy', opSource: 'gm_rest', sourceRef: 'boot' });
    }

    const deadline = Date.now() + Number(process.env.RTM_TEST_DEADLINE_MS ?? 240_000);
    let kills = 0;
    let worker = spawnWorker();
    const crashed = new Set<string>();
    const removedCrashFile = new Set<string>();
    try {
      for (;;) {
        // Every start ends first: a kill in one game's restart must not catch another's first start (its re-run is a start of its own).
        const startsDone = (await queues['start-runtime'].getJobCounts('completed')).completed === games.length;
        for (const gameId of startsDone ? games : []) {
          const record = await records.get(gameId);
          // Running once: make it crash. Seen exited: take the file away, so the engine its restart starts stays up.
          if (record?.status === 'running' && !crashed.has(gameId) && (await engineRuns(gameId)) === 1) {
            await writeFile(stateFile(gameId, 'crash'), '');
            crashed.add(gameId);
          } else if (record?.status === 'exited' && crashed.has(gameId) && !removedCrashFile.has(gameId)) {
            await rm(stateFile(gameId, 'crash'), { force: true });
            removedCrashFile.add(gameId);
          }
        }
        // Done: every game runs its second engine, and its crash restart has ended (a run killed after the start still has to).
        const done = await Promise.all(
          games.map(
            async (g) =>
              (await records.get(g))?.restartCount === 1 &&
              (await operations.listByGame(g, 30)).some((e) => e.opKind === 'restart' && e.opSource === 'crash_policy'),
          ),
        );
        if (done.every(Boolean) && (await readdir(tmp)).filter((f) => f.startsWith(`k${run}`)).length === STEPS.length) break;
        if (Date.now() > deadline) {
          const states = await Promise.all(
            games.map(async (g) => [
              g,
              (await records.get(g))?.status,
              (await records.get(g))?.restartCount,
              await engineRuns(g),
              (await operations.listByGame(g, 30)).map((e) => [
                e.opKind,
                e.opSource,
                e.outcome,
                e.errorCode,
                e.errorMessage.slice(0, 60),
                e.containerId.slice(0, 6),
              ]),
            ]),
          );
          throw new Error(`not done in time: ${JSON.stringify(states)}\n${output.slice(-3000)}`);
        }
        if (worker.exitCode !== null || worker.signalCode !== null) {
          expect(worker.signalCode).toBe('SIGKILL');
          kills += 1;
          worker = spawnWorker();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      // Time for a second restart, were one coming: twice the backoff and an engine's two seconds.
      await new Promise((r) => setTimeout(r, 5_000));
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null || worker.signalCode !== null ? r(null) : worker.once('exit', r)));
    }

    expect(kills).toBe(STEPS.length);
    for (const step of STEPS) {
      const gameId = gameOf(step);
      const containers = await docker.listContainers({ all: true, filters: { label: [`com.galaxy.game_id=${gameId}`] } });
      const record = await records.get(gameId);
      const audit = await operations.listByGame(gameId, 30);
      const story = `${step}\nrecord: ${JSON.stringify(record)}\naudit: ${JSON.stringify(audit.map((e) => [e.opKind, e.opSource, e.outcome, e.errorCode, e.errorMessage.slice(0, 80)]))}\n${output.slice(-3000)}`;
      expect(await engineRuns(gameId), story).toBe(2);
      expect(record, story).toMatchObject({ status: 'running', restartCount: 1, lastExitCode: 3, currentContainerId: containers[0]?.Id });
      expect(
        containers.map((c) => c.State),
        story,
      ).toEqual(['running']);
      const restarts = audit.filter((e) => e.opKind === 'restart' && e.opSource === 'crash_policy');
      expect(
        restarts.map((e) => [e.outcome, e.errorCode]),
        story,
      ).toEqual([['success', '']]);
    }
    for (const q of Object.values(queues)) await q.close();
    connection.disconnect();
  });
});
