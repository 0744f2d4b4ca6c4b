/**
 * What the crash-consistency tests (test/e2e/crash-steps, crash-restart-steps)
 * share: the test worker that kills itself at named steps (crash-worker.mjs),
 * and the clean-up of one run's containers, network, keys, database and files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { Redis } from 'ioredis';
import { freePort } from '../faults/support.js';
import type { TestDatabase } from './db.js';
import { createTestDatabase } from './db.js';
import { removeContainers, TEST_LABEL, testRedisUrl } from './services.js';

/** The compiled build's worker (the global setup keeps it current) with the test's crash hook; its output goes to `sink`. */
export function spawnCrashWorker(env: NodeJS.ProcessEnv, sink: (text: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['test/support/crash-worker.mjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => sink(d.toString()));
  child.stderr?.on('data', (d: Buffer) => sink(d.toString()));
  return child;
}

async function cleanupCrashRun(run: {
  docker: Dockerode;
  containerNamePrefix: string;
  network: Dockerode.Network;
  redis: Redis;
  keyPrefix: string;
  database: TestDatabase;
  tmp: string;
}): Promise<void> {
  const containers = await run.docker.listContainers({ all: true, filters: { name: [run.containerNamePrefix] } });
  await removeContainers(
    run.docker,
    containers.map((c) => c.Id),
  );
  await run.network.remove().catch(() => undefined);
  const keys = await run.redis.keys(`${run.keyPrefix}*`);
  if (keys.length) await run.redis.del(...keys);
  run.redis.disconnect();
  await run.database.close();
  await rm(run.tmp, { recursive: true, force: true });
}

/** A crash run's worker environment: its own database, queue prefix, streams, network (`rtm-{prefix}`) and state root. */
function crashRunEnv(run: { prefix: string; database: TestDatabase; redisUrl: string; opsPort: number; stateRoot: string }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    RTMANAGER_DATABASE_URL: run.database.url,
    RTMANAGER_REDIS_URL: run.redisUrl,
    // One worker at a time, each after the last one died: they can share a port, but not the default one other runs use.
    RTMANAGER_WORKER_OPS_PORT: String(run.opsPort),
    RTMANAGER_QUEUE_PREFIX: run.prefix,
    RTMANAGER_START_JOBS_STREAM: `${run.prefix}:start_jobs`,
    RTMANAGER_HEALTH_EVENTS_STREAM: `${run.prefix}:health`,
    RTMANAGER_NOTIFICATION_INTENTS_STREAM: `${run.prefix}:intents`,
    RTMANAGER_DOCKER_NETWORK: `rtm-${run.prefix}`,
    RTMANAGER_GAME_STATE_ROOT: run.stateRoot,
    RTMANAGER_AUTH_DISABLED: 'true',
    RTMANAGER_LOG_LEVEL: 'info',
  };
}

/** One crash run's own database, Redis link, temporary directory and network, and its worker's environment (crashRunEnv). */
export async function openCrashRun(prefix: string) {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  const database = await createTestDatabase();
  const redis = new Redis(testRedisUrl());
  const tmp = await mkdtemp(path.join(os.tmpdir(), `rtm-${prefix}-`));
  const network = await docker.createNetwork({ Name: `rtm-${prefix}`, Driver: 'bridge', Labels: { ...TEST_LABEL } });
  const env = crashRunEnv({ prefix, database, redisUrl: testRedisUrl(), opsPort: await freePort(), stateRoot: path.join(tmp, 'state') });
  const cleanup = (containerNamePrefix: string) => cleanupCrashRun({ docker, containerNamePrefix, network, redis, keyPrefix: prefix, database, tmp });
  return { docker, database, redis, tmp, network, env, cleanup };
}
