/**
 * Fault-injection harness: the real processes (`src/main.ts <role>`) with an
 * environment of their own, on the test backend's engine (the e2e Procfile
 * test runs on both; the faults project on the default engine), and handles to
 * kill them, restart them, and take their services away. The faults project
 * runs alone (it restarts shared services), one file at a time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { backendEnv, createTestNetwork, removeGames, testDocker } from '../support/backend.js';
import type { TestDatabase } from '../support/db.js';
import { createTestDatabase } from '../support/db.js';
import { isolatedSystemEnv, testRedisUrl } from '../support/services.js';

export type Role = 'web' | 'worker' | 'intake' | 'all';
export const docker = testDocker();

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

export async function until<T>(probe: () => Promise<T> | T, accept: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms (last: ${JSON.stringify(value)?.slice(0, 500)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The default engine's dockerd, by the pid file it writes: `pkill -x dockerd`
 * would also signal the swarm's private dockerd (scripts/services.sh up --swarm).
 */
export function defaultDockerdPid(): number {
  const text = readFileSync('/var/run/docker.pid', 'utf8').trim();
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`/var/run/docker.pid holds ${JSON.stringify(text)}, not a pid`);
  return pid;
}

/** Alive and not a zombie: a dockerd that exited but was not reaped yet is gone. */
export function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A Redis of the test's own, that the test may kill, restart or flush: with
 * AOF fsync always (a crash loses nothing acknowledged), or with no
 * persistence at all (a crash loses everything, as a cache-only Redis does).
 */
export async function privateRedis(opts: { persistence?: 'aof_always' | 'none' } = {}) {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-fault-redis-'));
  const persistence = opts.persistence === 'none' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const start = () =>
    execFileSync('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      ...persistence,
      '--daemonize',
      'yes',
      '--pidfile',
      `${dir}/redis.pid`,
      '--logfile',
      `${dir}/redis.log`,
    ]);
  // Down (refused) until the daemonized server listens: a loaded machine takes a moment.
  const ping = () => {
    try {
      return execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      return 'down';
    }
  };
  start();
  const url = `redis://127.0.0.1:${port}`;
  await until(ping, (v) => v === 'PONG', 30_000, 'private redis up');
  return {
    url,
    /** SIGKILL: no graceful save; only what the AOF fsynced survives (nothing, without persistence). */
    crash: () => {
      const pid = execFileSync('cat', [`${dir}/redis.pid`])
        .toString()
        .trim();
      execFileSync('kill', ['-9', pid]);
    },
    start: async () => {
      start();
      // A restart is quick, but at load average 19 one once took more than 10 s.
      await until(ping, (v) => v === 'PONG', 30_000, 'private redis back');
    },
    stop: async () => {
      try {
        execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
      } catch {
        /* already down */
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The processes run the compiled build (dist/, what the Procfile runs; the
 * global setup builds it), not tsx: the figures and failures are production's.
 */
const MAIN = ['dist/main.js'];

/**
 * The fault tests' own settings: a quiet log, short locks and leases (a killed
 * worker's games are free again within seconds), many attempts. `defaults:
 * true` (the bench) leaves them out, and the hour-long reconcile period of
 * isolatedSystemEnv too: what runs then is what an operator gets.
 */
const HARNESS_SETTINGS: Record<string, string> = {
  RTMANAGER_LOG_LEVEL: 'warn',
  RTMANAGER_JOB_LOCK_MS: '2000',
  // Renewed every second while its holder lives: a killed worker's games are free again within 3 s.
  RTMANAGER_GAME_LEASE_TTL_MS: '3000',
  RTMANAGER_JOB_ATTEMPTS: '20',
  RTMANAGER_JOB_BACKOFF_MS: '500',
  RTMANAGER_WORKER_CONCURRENCY: '10',
};

export async function faultSystem(
  opts: {
    redisUrl?: string;
    env?: Record<string, string>;
    nodeArgs?: string[];
    defaults?: boolean;
    /** Another build's entry (`dist-before/main.js`): the bench compares two builds side by side. */
    main?: string;
  } = {},
) {
  const run = `f${randomUUID().slice(0, 6)}`;
  const database: TestDatabase = await createTestDatabase();
  const tmp = await mkdtemp(path.join(os.tmpdir(), `rtm-${run}-`));
  const networkName = `rtm-${run}`;
  const network = await createTestNetwork(networkName, {}, docker);
  const port = await freePort();
  // Not the defaults (8091, 8092): other runs on this machine use those.
  const opsPorts = { worker: await freePort(), intake: await freePort() };
  const token = `fault-token-${randomUUID()}`;
  const redisUrl = opts.redisUrl ?? testRedisUrl();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...isolatedSystemEnv(run, { databaseUrl: database.url, redisUrl, port, network: networkName, stateRoot: path.join(tmp, 'state') }),
    RTMANAGER_WORKER_OPS_PORT: String(opsPorts.worker),
    RTMANAGER_INTAKE_OPS_PORT: String(opsPorts.intake),
    RTMANAGER_API_TOKEN: token,
    RTMANAGER_ADMIN_USER: 'admin',
    RTMANAGER_ADMIN_PASSWORD: 'fault-admin-password',
    ...(opts.defaults ? {} : HARNESS_SETTINGS),
    ...backendEnv(),
    ...opts.env,
  };
  if (opts.defaults && !opts.env?.RTMANAGER_RECONCILE_INTERVAL_MS) delete env.RTMANAGER_RECONCILE_INTERVAL_MS;
  const children = new Map<Role, ChildProcess>();
  let output = '';
  const base = `http://127.0.0.1:${port}`;

  /**
   * With `defaults` (the bench) the processes write their logs to a file, as
   * to an operator's collector: read through a pipe here, an `info` log under
   * load would cost this process a core beside the system it measures.
   */
  const logFile = opts.defaults ? path.join(tmp, 'system.log') : null;

  /** `nodeArgs`: node flags for this process, instead of the system's. */
  function start(role: Role, nodeArgs = opts.nodeArgs ?? []): ChildProcess {
    const argv = [...nodeArgs, ...(opts.main ? [opts.main] : MAIN), role];
    if (logFile) {
      const fd = openSync(logFile, 'a');
      const child = spawn(process.execPath, argv, { env, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      children.set(role, child);
      return child;
    }
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    children.set(role, child);
    return child;
  }

  /** The processes' last 20,000 characters of output. */
  function outputTail(): string {
    if (!logFile) return output;
    try {
      const size = statSync(logFile).size;
      const fd = openSync(logFile, 'r');
      const buffer = Buffer.alloc(Math.min(size, 20_000));
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      closeSync(fd);
      return buffer.toString('utf8');
    } catch {
      return '';
    }
  }

  async function kill(role: Role, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = children.get(role);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  const records = new PostgresRuntimeRecordStore(database.db);
  const operations = new PostgresOperationLog(database.db);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });

  return {
    run,
    base,
    /** The ops ports of a worker and an intake started with `start` (a second worker at once needs another). */
    opsBase: { worker: `http://127.0.0.1:${opsPorts.worker}`, intake: `http://127.0.0.1:${opsPorts.intake}` },
    token,
    env,
    database,
    records,
    operations,
    redis,
    networkName,
    output: outputTail,
    start,
    kill,
    gameId: (name: string) => `${run}-${name}`,
    async waitReady(ms = 60_000) {
      await until(
        () =>
          fetch(`${base}/healthz`).then(
            (r) => r.status,
            () => 0,
          ),
        (s) => s === 200,
        ms,
        `web ready\n${outputTail()}`,
      );
    },
    post(pathname: string, body?: unknown) {
      return fetch(`${base}/api/v1/internal${pathname}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
    async containersOf(prefixOrId: string) {
      return docker.listContainers({ all: true, filters: { name: [`galaxy-game-${prefixOrId}`] } });
    },
    async cleanup() {
      for (const role of children.keys()) await kill(role, 'SIGKILL');
      await removeGames(docker, { name: [`galaxy-game-${run}-`] });
      await network.remove().catch(() => undefined);
      const keys = await redis.keys(`${run}*`).catch(() => [] as string[]);
      // In slices: an enqueue load leaves a hundred thousand keys, more arguments than one call's stack holds.
      for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000)).catch(() => undefined);
      redis.disconnect();
      await database.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

export type FaultSystem = Awaited<ReturnType<typeof faultSystem>>;
