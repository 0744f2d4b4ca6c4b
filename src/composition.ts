/**
 * The one composition root: builds the real clients and adapters from the
 * configuration, wires them into the domain's deps, and starts the roles a
 * process runs. No DI framework, no globals: everything is built here and
 * handed down.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { Job } from 'bullmq';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Config } from './config.js';
import type { LifecycleDeps } from './domain/operation.js';
import type { Logger } from './domain/ports.js';
import { reconcileAll, reconcileOnEvent } from './domain/reconcile.js';
import { rejectStart } from './domain/start.js';
import { openDatabase } from './infra/db/client.js';
import { migrateDatabase } from './infra/db/migrate.js';
import { PostgresHealthSnapshots } from './infra/db/postgres-health-snapshots.js';
import { PostgresOperationLog } from './infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from './infra/db/postgres-runtime-record-store.js';
import { LazyDockerEngine } from './infra/docker/lazy-engine.js';
import { FsStateDirectories } from './infra/fs/state-directories.js';
import { HttpLobbyDiagnostics } from './infra/lobby.js';
import { createRedis, redisPing } from './infra/redis/connection.js';
import { RedisGameLeases } from './infra/redis/game-leases.js';
import { RedisHealthEvents } from './infra/redis/health-events.js';
import { RedisNotifications } from './infra/redis/notifications.js';
import { createTelemetry } from './infra/telemetry.js';
import { createApp } from './http/app.js';
import { mountBullBoard } from './http/bull-board.js';
import { createEnqueuer } from './jobs/enqueue.js';
import { startIntake } from './jobs/intake.js';
import { createJobStatus } from './jobs/job-status.js';
import type { StepHook } from './jobs/lifecycle-jobs.js';
import { createLifecycleProcessor, lifecycleWorkerOptions } from './jobs/lifecycle-jobs.js';
import { QUEUE_NAMES } from './jobs/queues.js';
import type { QueueName } from './jobs/queues.js';
import { createStartProcessor } from './jobs/start-job.js';

export type Role = 'web' | 'worker' | 'intake' | 'all';

export interface RunningSystem {
  stop(): Promise<void>;
}

/**
 * Test-only: with RTMANAGER_TEST_CRASH_AT set, the worker SIGKILLs itself at
 * the named step of the named game's start, once (a marker file remembers),
 * so a test can prove that every step is crash-consistent. Off by default.
 */
function crashHook(config: Config): StepHook | undefined {
  const dir = config.testCrashMarkerDir;
  if (Object.keys(config.testCrashAt).length === 0 || !dir) return undefined;
  return (job, step) => {
    const gameId = (job.data as { gameId?: string }).gameId ?? '';
    if (config.testCrashAt[gameId] !== step) return;
    const marker = path.join(dir, `${gameId}.${step}`);
    if (existsSync(marker)) return;
    writeFileSync(marker, String(Date.now()));
    process.kill(process.pid, 'SIGKILL');
  };
}

export async function startSystem(config: Config, role: Role, logger: Logger): Promise<RunningSystem> {
  const closers: Array<() => Promise<unknown>> = [];
  const runs = (r: Exclude<Role, 'all'>): boolean => role === 'all' || role === r;

  const telemetry = createTelemetry();
  const database = await openDatabase(config.databaseUrl, { dataDir: config.pgliteDir });
  closers.push(() => database.close());
  await migrateDatabase(database);

  const commands = createRedis(config.redisUrl, 'command');
  const bullConnection = createRedis(config.redisUrl, 'bullmq');
  closers.push(() => commands.quit(), () => bullConnection.quit());

  const docker = new LazyDockerEngine({ host: config.docker.host, telemetry });
  const records = new PostgresRuntimeRecordStore(database.db);
  const operations = new PostgresOperationLog(database.db);
  const snapshots = new PostgresHealthSnapshots(database.db);

  const deps: LifecycleDeps = {
    records,
    operations,
    docker,
    leases: new RedisGameLeases({ redis: commands }),
    healthEvents: new RedisHealthEvents({ redis: commands, stream: config.streams.healthEvents, snapshots }),
    notifications: new RedisNotifications({ redis: commands, stream: config.streams.notificationIntents }),
    stateDirs: new FsStateDirectories({
      root: config.container.gameStateRoot,
      mode: config.container.gameStateDirMode,
      uid: config.container.gameStateOwnerUid,
      gid: config.container.gameStateOwnerGid,
    }),
    ...(config.lobbyBaseUrl ? { lobby: new HttpLobbyDiagnostics(config.lobbyBaseUrl) } : {}),
    telemetry,
    logger,
    clock: { now: () => new Date() },
    newToken: () => randomBytes(32).toString('base64url'),
    settings: {
      network: config.docker.network,
      pullPolicy: config.docker.pullPolicy,
      logDriver: config.docker.logDriver,
      logOpts: config.docker.logOpts,
      defaultCpuQuota: config.container.defaultCpuQuota,
      defaultMemory: config.container.defaultMemory,
      defaultPidsLimit: config.container.defaultPidsLimit,
      engineStateMountPath: config.container.engineStateMountPath,
      engineStateEnvName: config.container.engineStateEnvName,
      enginePort: config.container.enginePort,
      leaseTtlMs: config.leaseTtlMs,
      stopTimeoutSeconds: config.container.stopTimeoutSeconds,
      extraLabels: config.container.extraLabels,
    },
  };

  const queueOpts = { connection: bullConnection, prefix: config.queuePrefix };
  const queues = Object.fromEntries(QUEUE_NAMES.map((name) => [name, new Queue(name, queueOpts)])) as Record<QueueName, Queue>;
  closers.push(...Object.values(queues).map((q) => () => q.close()));
  telemetry.setQueueDepthSource(async () => {
    const rows: Array<{ queue: string; state: string; count: number }> = [];
    for (const [name, queue] of Object.entries(queues)) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      for (const [state, count] of Object.entries(counts)) rows.push({ queue: name, state, count });
    }
    return rows;
  });

  // The mutex connection carries no BullMQ scripts: ioredis copies every defined
  // script into each pipeline it builds, and BullMQ defines dozens.
  const enqueueConnection = createRedis(config.redisUrl, 'enqueue');
  closers.push(() => enqueueConnection.quit());
  const enqueuer = createEnqueuer({ queues, redis: enqueueConnection, logger, attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs });
  const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  if (runs('worker')) {
    const workers: Worker[] = [];
    const workerOpts = { connection: bullConnection, prefix: config.queuePrefix, concurrency: config.jobs.concurrency, ...lifecycleWorkerOptions(config.jobs.lockMs) };
    workers.push(new Worker('start-runtime', createStartProcessor(deps, crashHook(config)), workerOpts));
    workers.push(new Worker('stop-runtime', createLifecycleProcessor('stop', deps), workerOpts));
    workers.push(new Worker('restart-runtime', createLifecycleProcessor('restart', deps), workerOpts));
    workers.push(new Worker('patch-runtime', createLifecycleProcessor('patch', deps), workerOpts));
    workers.push(
      new Worker('reconcile', async (_job: Job) => reconcileAll(deps), { ...workerOpts, concurrency: 1 }),
    );
    // Idempotent across processes: one scheduler, one run per period.
    await queues.reconcile.upsertJobScheduler('reconcile-every', { every: config.reconcileIntervalMs }, { name: 'reconcile', data: {} });
    // Only the worker drives Docker: it alone loads dockerode (see LazyDockerEngine).
    const [{ followEngineEvents }, { dockerFromHost }] = await Promise.all([import('./infra/docker/events-follower.js'), import('./infra/docker/docker-engine.js')]);
    const events = followEngineEvents({
      docker: dockerFromHost(config.docker.host),
      labels: { ...config.container.extraLabels, 'com.galaxy.owner': 'rtmanager' },
      onEvent: async (event) => {
        await reconcileOnEvent(deps, event.labels['com.galaxy.game_id'] ?? '', wait);
      },
      onReconnect: () => enqueuer.enqueueReconcile(),
      logger,
    });
    closers.unshift(async () => {
      await events.stop();
      await Promise.all(workers.map((w) => w.close()));
    });
    logger.info({ role: 'worker' }, 'worker started');
  }

  if (runs('intake')) {
    const blocking = createRedis(config.redisUrl, 'blocking');
    const intake = startIntake({
      blocking,
      commands,
      stream: config.streams.startJobs,
      claimIdleMs: config.intake.claimIdleMs,
      enqueue: (request) => enqueuer.enqueue('start', request),
      reject: async (request, _code, message) => {
        await rejectStart(deps, request, message);
      },
      logger,
    });
    closers.unshift(() => intake.stop());
  }

  if (runs('web')) {
    const queueEvents: Partial<Record<QueueName, QueueEvents>> = {};
    for (const name of ['start-runtime', 'stop-runtime', 'restart-runtime', 'patch-runtime'] as const) {
      const events = new QueueEvents(name, { connection: createRedis(config.redisUrl, 'bullmq'), prefix: config.queuePrefix });
      queueEvents[name] = events;
      closers.push(() => events.close());
    }
    const failFast = createRedis(config.redisUrl, 'failfast');
    closers.push(() => failFast.quit());
    const app = createApp({
      enqueuer,
      jobs: createJobStatus({ queues, queueEvents, records, operations }),
      records,
      operations,
      readiness: {
        redis: () => redisPing(failFast, 1_000),
        postgres: () => database.ping(),
        docker: async () => {
          if (!(await docker.ping())) throw new Error('docker engine does not answer');
        },
      },
      metricsText: () => telemetry.metricsText(),
      auth: config.auth,
      bodyLimitBytes: config.http.bodyLimitBytes,
      logger,
      bullBoard: (app) => mountBullBoard(app, Object.values(queues), config.auth),
    });
    const server = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port });
    closers.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
    logger.info({ role: 'web', url: `http://${config.http.host}:${config.http.port}` }, 'web listening');
  }

  return {
    async stop() {
      const grace = setTimeout(() => {
        logger.error({ grace_ms: config.shutdownGraceMs }, 'shutdown grace exceeded; exiting');
        process.exit(1);
      }, config.shutdownGraceMs);
      grace.unref();
      for (const close of closers) {
        try {
          await close();
        } catch (error) {
          logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'close failed');
        }
      }
      clearTimeout(grace);
    },
  };
}
