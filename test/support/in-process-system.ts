/**
 * The whole system (`all`: web, worker, intake) started in the test's own
 * process by the composition root, from an environment as an operator writes
 * it, on a database, queue prefix, streams, network and state root of its
 * own, on the test backend's engine (one engine, or a swarm). Its pino lines
 * go to `logLines`, so a test can read every line the run logged.
 * `cleanup()` stops it and removes what it made.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startSystem } from '../../src/composition/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/logger.js';
import { freePort } from '../faults/support.js';
import { backendEnv, createTestNetwork, removeGames, testDocker } from './backend.js';
import { createTestDatabase } from './db.js';
import { isolatedSystemEnv, testRedisUrl } from './services.js';

export interface PollAnswer {
  job_id: string;
  state: string;
  progress: unknown;
  result?: { outcome: string; error_code: string | null; error_message: string; record: { current_container_id: string | null } | null };
}

/**
 * fetch, once more when the connection was reset before any answer. That is
 * Node's keep-alive race: the client reuses an idle socket just as the
 * server's keepAliveTimeout (5 s) closes it, and a loaded 2-core machine
 * widens the window (seen in a fresh clone after a test's 6 s pause). Every
 * request sent here is idempotent (starts and stops are keyed by game id), as
 * an HTTP client that retries a reset assumes. Any other failure is thrown.
 */
async function fetchRetryingReset(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
    return fetch(url, init);
  }
}

export async function inProcessSystem(env: Record<string, string> = {}) {
  const run = `p${randomUUID().slice(0, 6)}`;
  const database = await createTestDatabase();
  const tmp = await mkdtemp(path.join(os.tmpdir(), `rtm-${run}-`));
  const networkName = `rtm-${run}`;
  const docker = testDocker();
  const network = await createTestNetwork(networkName, {}, docker);
  const port = await freePort();
  const loaded = loadConfig({
    ...isolatedSystemEnv(run, { databaseUrl: database.url, port, network: networkName, stateRoot: path.join(tmp, 'state') }),
    RTMANAGER_AUTH_DISABLED: 'true',
    RTMANAGER_STOP_TIMEOUT_SECONDS: '1',
    ...backendEnv(),
    ...env,
  });
  if (!loaded.ok) throw new Error(`invalid test configuration:\n${loaded.errors.join('\n')}`);
  const config = loaded.config;
  const logLines: string[] = [];
  const logger = createLogger('debug', { run }, { write: (line: string) => void logLines.push(line) });
  const system = await startSystem(config, 'all', logger);
  const redis = new Redis(testRedisUrl());
  const base = `http://127.0.0.1:${port}`;
  const api = `${base}/api/v1/internal/runtimes`;
  const bearer: Record<string, string> = config.auth.disabled ? {} : { authorization: `Bearer ${config.auth.apiToken}` };

  async function post(gameId: string, action: 'start' | 'restart' | 'stop', body?: object): Promise<number> {
    const res = await fetchRetryingReset(`${api}/${gameId}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    await res.body?.cancel();
    return res.status;
  }

  async function poll(gameId: string, action: 'start' | 'restart' = 'start'): Promise<PollAnswer | null> {
    const res = await fetchRetryingReset(`${api}/${gameId}/${action}`, { headers: bearer });
    return res.status === 404 ? null : ((await res.json()) as PollAnswer);
  }

  /** Polls until the job finished; its Result. */
  async function finished(gameId: string, action: 'start' | 'restart' = 'start', ms = 60_000): Promise<NonNullable<PollAnswer['result']>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const answer = await poll(gameId, action);
      if (answer?.result && (answer.state === 'completed' || answer.state === 'failed')) return answer.result;
      if (Date.now() > deadline) throw new Error(`${gameId}: ${action} not finished in ${ms} ms (last: ${JSON.stringify(answer)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function operations(gameId: string): Promise<Array<{ op_kind: string; outcome: string; error_code: string; error_message: string }>> {
    return ((await (await fetchRetryingReset(`${api}/${gameId}/operations?limit=50`, { headers: bearer })).json()) as { operations: never[] }).operations;
  }

  /** The notification intents the run published, as stored in the stream. */
  async function intents(): Promise<string[]> {
    return (await redis.xrange(config.streams.notificationIntents, '-', '+')).map(([, fields]) => fields.join(' '));
  }

  async function cleanup(): Promise<void> {
    await system.stop();
    await removeGames(docker, { label: [`com.galaxy.test_run=${run}`] });
    await removeGames(docker, { name: [`galaxy-game-${run}-`] });
    await network.remove().catch(() => undefined);
    const keys = await redis.keys(`${run}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await database.close();
    await rm(tmp, { recursive: true, force: true });
  }

  return { run, base, config, logLines, gameId: (name: string) => `${run}-${name}`, post, poll, finished, operations, intents, cleanup };
}

export type InProcessSystem = Awaited<ReturnType<typeof inProcessSystem>>;
