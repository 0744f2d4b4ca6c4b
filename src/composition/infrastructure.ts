/**
 * What every role shares: the database (migrated), the Redis connections,
 * telemetry, the adapters wired into the domain's LifecycleDeps, the queues
 * and the enqueuer. The roles (worker.ts, intake.ts, web.ts) build on it.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { ReadinessChecks } from '../http/readiness.js';
import type { LifecycleDeps } from '../domain/lifecycle.js';
import type { CrashRestarts, Logger } from '../domain/ports.js';
import type { DatabaseHandle } from '../infra/db/client.js';
import { openDatabase } from '../infra/db/client.js';
import { migrateDatabase } from '../infra/db/migrate.js';
import { PostgresHealthSnapshots } from '../infra/db/postgres-health-snapshots.js';
import { PostgresOperationLog } from '../infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../infra/db/postgres-runtime-record-store.js';
import { countRuntimes } from '../infra/db/runtime-counts.js';
import type { RuntimeBackend } from '../infra/docker/backend.js';
import { openRuntimeBackend } from '../infra/docker/backend.js';
import { FsStateDirectories } from '../infra/fs/state-directories.js';
import { HttpLobbyDiagnostics } from '../infra/lobby.js';
import { createRedis, redisPing } from '../infra/redis/connection.js';
import { RedisGameLeases } from '../infra/redis/game-leases.js';
import { RedisHealthEvents } from '../infra/redis/health-events.js';
import { RedisNotifications } from '../infra/redis/notifications.js';
import type { MetricsTelemetry } from '../infra/telemetry.js';
import { createTelemetry } from '../infra/telemetry.js';
import type { Enqueuer } from '../jobs/enqueue.js';
import { createEnqueuer } from './enqueuer.js';
import type { QueueName } from '../jobs/queues.js';
import { QUEUE_NAMES } from '../jobs/queues.js';
import { BullCrashRestarts } from '../jobs/crash-restarts.js';
import { lifecycleSettings } from './settings.js';

/** Releases one thing a role or the infrastructure opened. */
export type Closer = () => Promise<unknown>;

/** What a role hands back: what `/readyz` must ask in a process running it, and what to close. */
export interface RoleHandle {
  readiness: ReadinessChecks;
  closers: Closer[];
}

export interface Infrastructure {
  config: Config;
  logger: Logger;
  telemetry: MetricsTelemetry;
  database: DatabaseHandle;
  /** Plain commands: leases, streams. */
  commands: Redis;
  /** Shared by BullMQ's queues and workers. */
  bullConnection: Redis;
  /** The Docker engine (the deps' `docker`), its event follower and what it can do. */
  backend: RuntimeBackend;
  deps: LifecycleDeps;
  queues: Record<QueueName, Queue>;
  enqueuer: Enqueuer;
  /** What `/readyz` asks of the shared dependencies; each role adds its own and picks these. */
  readiness: Record<'redis' | 'postgres' | 'docker', ReadinessChecks[string]>;
  /** Closed after the roles, in this order. */
  closers: Closer[];
}

export async function openInfrastructure(config: Config, logger: Logger): Promise<Infrastructure> {
  const telemetry = createTelemetry();
  // First, before anything is opened that a failed boot would have to close: it reads the Docker TLS files.
  const backend = openRuntimeBackend(config, { telemetry });
  const closers: Closer[] = [];
  const database = await openDatabase(config.databaseUrl, { dataDir: config.pgliteDir, statementTimeoutMs: config.dbStatementTimeoutMs });
  closers.push(() => database.close());
  await migrateDatabase(database);
  // Every process reads the same table: the alert rules collapse their series with max.
  telemetry.setRuntimeCountSource(() => countRuntimes(database.db, database.deadline));

  const commands = createRedis(config.redisUrl, 'command');
  const bullConnection = createRedis(config.redisUrl, 'bullmq');
  closers.push(
    () => commands.quit(),
    () => bullConnection.quit(),
  );
  const queues = openQueues(config, bullConnection, telemetry, closers);
  const enqueuer = openEnqueuer(config, queues, logger, closers);
  const crashRestarts = new BullCrashRestarts(queues['crash-restart'], enqueuer);
  const deps = lifecycleDeps(config, { database, commands, docker: backend.engine, crashRestarts, telemetry, logger });
  const readiness = readinessChecks(config, database, backend, closers);
  return { config, logger, telemetry, database, commands, bullConnection, backend, deps, queues, enqueuer, readiness, closers };
}

/** The domain's ports on the real adapters. */
function lifecycleDeps(
  config: Config,
  opened: {
    database: DatabaseHandle;
    commands: Redis;
    docker: RuntimeBackend['engine'];
    crashRestarts: CrashRestarts;
    telemetry: MetricsTelemetry;
    logger: Logger;
  },
): LifecycleDeps {
  const { database, commands, docker, crashRestarts, telemetry, logger } = opened;
  return {
    records: new PostgresRuntimeRecordStore(database.db, database.deadline),
    operations: new PostgresOperationLog(database.db, database.deadline),
    docker,
    // A game's fence key lives as long as its other keys after its last operation (contract §14).
    leases: new RedisGameLeases({ redis: commands, idleTtlMs: config.streamDedupWindowMs }),
    healthEvents: new RedisHealthEvents({
      redis: commands,
      stream: config.streams.healthEvents,
      snapshots: new PostgresHealthSnapshots(database.db, database.deadline),
    }),
    notifications: new RedisNotifications({ redis: commands, stream: config.streams.notificationIntents }),
    crashRestarts,
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
    settings: lifecycleSettings(config),
  };
}

/** Every queue, their depths read into the metrics. */
function openQueues(config: Config, bullConnection: Redis, telemetry: MetricsTelemetry, closers: Closer[]): Record<QueueName, Queue> {
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
  return queues;
}

function openEnqueuer(config: Config, queues: Record<QueueName, Queue>, logger: Logger, closers: Closer[]): Enqueuer {
  // The mutex connection carries no BullMQ scripts: ioredis copies every defined
  // script into each pipeline it builds, and BullMQ defines dozens.
  const enqueueConnection = createRedis(config.redisUrl, 'enqueue');
  closers.push(() => enqueueConnection.quit());
  return createEnqueuer({
    queues,
    redis: enqueueConnection,
    logger,
    attempts: config.jobs.attempts,
    backoffMs: config.jobs.backoffMs,
    idleTtlMs: config.streamDedupWindowMs,
  });
}

function readinessChecks(config: Config, database: DatabaseHandle, backend: RuntimeBackend, closers: Closer[]): Infrastructure['readiness'] {
  // /readyz says at once that Redis is down: a connection without an offline queue.
  const failFast = createRedis(config.redisUrl, 'failfast');
  closers.push(() => failFast.quit());
  return {
    redis: () => redisPing(failFast, 1_000),
    postgres: () => database.ping(),
    docker: async () => {
      if (!(await backend.engine.ping())) throw new Error('docker engine does not answer');
    },
  };
}
