/**
 * The domain's deps on the real adapters — Redis, Postgres, Docker (the test
 * backend's: one engine, or a swarm), the filesystem — with names unique to
 * one test: its own database, key prefix, streams, network and state root.
 * `cleanup()` removes all of it.
 */
import { testRedisUrl } from './services.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { lifecycleSettings } from '../../src/composition/settings.js';
import type { LifecycleDeps } from '../../src/domain/lifecycle.js';
import { PostgresHealthSnapshots } from '../../src/infra/db/postgres-health-snapshots.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { openRuntimeBackend } from '../../src/infra/docker/backend.js';
import { FsStateDirectories } from '../../src/infra/fs/state-directories.js';
import { RedisGameLeases } from '../../src/infra/redis/game-leases.js';
import { RedisHealthEvents } from '../../src/infra/redis/health-events.js';
import { RedisNotifications } from '../../src/infra/redis/notifications.js';
import { BullCrashRestarts } from '../../src/jobs/crash-restarts.js';
import { RecordingLogger, RecordingTelemetry } from '../fakes/support.js';
import { backendEnv, createTestNetwork, removeGames, testDocker } from './backend.js';
import { createTestDatabase } from './db.js';
import { TEST_LABEL, testLabelsEnv } from './services.js';
import { testConfig } from './test-config.js';

export { TEST_LABEL };

/** `env`: configuration of the test's own, beside the world's (e.g. RTMANAGER_ALLOWED_REGISTRIES, RTMANAGER_CONTAINER_USER). */
export async function realWorld(opts: { network?: string | null; env?: Record<string, string> } = {}) {
  const run = randomUUID().slice(0, 8);
  const docker = testDocker();
  const redis = new Redis(testRedisUrl());
  const database = await createTestDatabase();
  const stateRoot = await mkdtemp(path.join(os.tmpdir(), `rtm-state-${run}-`));
  const networkName = opts.network === null ? `rtm-missing-${run}` : `rtm-net-${run}`;
  const network = opts.network === null ? null : await createTestNetwork(networkName, {}, docker);
  const streams = { health: `test:${run}:health`, intents: `test:${run}:intents` };
  const leasePrefix = `test:${run}:lease:`;
  const crashQueue = new Queue('crash-restart', { connection: redis, prefix: `test:${run}:bull` });

  const records = new PostgresRuntimeRecordStore(database.db);
  const operations = new PostgresOperationLog(database.db);
  const snapshots = new PostgresHealthSnapshots(database.db);
  const config = testConfig({
    RTMANAGER_DOCKER_NETWORK: networkName,
    RTMANAGER_STOP_TIMEOUT_SECONDS: '1',
    RTMANAGER_CONTAINER_EXTRA_LABELS: testLabelsEnv({ 'com.galaxy.test_run': run }),
    ...backendEnv(),
    ...opts.env,
  });
  // As the composition root opens it: a service's stop grace (fixed at its creation) is the stop timeout, as here.
  const { engine } = openRuntimeBackend(config);
  const telemetry = new RecordingTelemetry();
  const logger = new RecordingLogger();
  const deps: LifecycleDeps = {
    records,
    operations,
    docker: engine,
    leases: new RedisGameLeases({ redis, prefix: leasePrefix, idleTtlMs: config.streamDedupWindowMs }),
    healthEvents: new RedisHealthEvents({ redis, stream: streams.health, snapshots }),
    notifications: new RedisNotifications({ redis, stream: streams.intents }),
    // Waits in Redis under this test's prefix; nothing hands a crash on here (no worker): the whole-system tests do.
    crashRestarts: new BullCrashRestarts(crashQueue),
    stateDirs: new FsStateDirectories({
      root: stateRoot,
      mode: config.container.gameStateDirMode,
      uid: config.container.gameStateOwnerUid,
      gid: config.container.gameStateOwnerGid,
    }),
    telemetry,
    logger,
    clock: { now: () => new Date() },
    newToken: () => randomBytes(32).toString('base64url'),
    settings: lifecycleSettings(config),
  };

  /** Game ids of this test: unique, so container names never collide across files. */
  const gameId = (name: string) => `t${run}-${name}`;

  async function streamEntries(stream: string): Promise<Array<Record<string, string>>> {
    return (await redis.xrange(stream, '-', '+')).map(([, flat]) => {
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
      return out;
    });
  }

  async function containersOf(id: string) {
    return docker.listContainers({ all: true, filters: { label: [`com.galaxy.game_id=${id}`] } });
  }

  async function cleanup(): Promise<void> {
    await removeGames(docker, { name: [`galaxy-game-t${run}-`] });
    await network?.remove().catch(() => undefined);
    await crashQueue.close();
    const keys = await redis.keys(`test:${run}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await database.close();
    await rm(stateRoot, { recursive: true, force: true });
  }

  return {
    deps,
    docker,
    redis,
    database,
    records,
    operations,
    snapshots,
    engine,
    stateRoot,
    networkName,
    streams,
    crashQueue,
    telemetry,
    logger,
    gameId,
    streamEntries,
    containersOf,
    cleanup,
  };
}

export type RealWorld = Awaited<ReturnType<typeof realWorld>>;
