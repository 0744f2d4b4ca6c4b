/**
 * How much of an enqueue's CPU is the HTTP layer's own: the web role's app
 * as the build has it (createApp: request ids, the access log at `info` to a
 * file, the bearer check, the zod checks, the JSON answer) in front of an
 * enqueuer that answers at once, with no Redis behind it, under the enqueue
 * part's wrk load (enqueue-load.ts), paired with the same floor. Its ratio is
 * the ceiling of `enqueue_ratio` were the enqueue itself free.
 *
 * Not part of `npm run bench`: `npx tsx bench/http-alone.ts` after
 * `npm run build`, on the services of `scripts/services.sh up` (the floor's
 * Redis). BENCH_ENQUEUE_ROUNDS [3], BENCH_ENQUEUE_SECONDS [10],
 * BENCH_CONNECTIONS [16] as for bench/enqueue-load.ts; BENCH_NODE_ARGS adds
 * node flags to the Procfile's.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../test/support/services.js';
import { describePairs, enqueuePairs, ensureWrk, serveScript, startFloor } from './enqueue-load.js';
import { procfileNodeArgs } from './settings.js';

const TOKEN = 'an-http-alone-token-of-32-chars-x';

/** The app from the build over stubs: only what POST start touches is real. */
const APP_SERVER = `
import { pino } from 'pino';
import { createApp } from './dist/http/app.js';
import { listen } from './dist/http/server.js';
import { createLogger } from './dist/infra/logger.js';
const logger = createLogger('info', {}, pino.destination({ dest: process.env.ALONE_LOG, sync: false }));
const none = () => Promise.reject(new Error('not in this bench'));
let seq = 0;
const enqueuer = {
  enqueue: (kind, payload) => Promise.resolve({ kind: 'enqueued', jobId: payload.gameId, seq: ++seq, state: 'waiting', carrier: payload.sourceRef }),
  enqueueReconcile: () => Promise.resolve(),
  promote: () => Promise.resolve(),
  promoteAll: () => Promise.resolve(0),
  hasDeferred: () => Promise.resolve(false),
};
const app = createApp({
  enqueuer,
  jobs: { poll: none, waitFor: none },
  readiness: {},
  metricsText: () => Promise.resolve(''),
  auth: { disabled: false, apiToken: process.env.ALONE_TOKEN, adminUser: 'admin', adminPassword: 'unused-password' },
  bodyLimitBytes: 65536,
  maxWaiters: 1000,
  logger,
  logBufferBytes: 1048576,
});
const server = listen(app.fetch, { hostname: '127.0.0.1', port: 0 }, (info) => console.log('ALONE ' + info.port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

async function startAlone(nodeArgs: string[], logFile: string) {
  const server = await serveScript(APP_SERVER, { marker: 'ALONE', nodeArgs, env: { ALONE_LOG: logFile, ALONE_TOKEN: TOKEN } });
  return { target: { base: `http://127.0.0.1:${server.port}`, token: TOKEN, pid: server.pid }, stop: () => server.stop() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await ensureWrk();
  // BENCH_NODE_ARGS: more node flags (say `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = [...(await procfileNodeArgs('web')), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-alone-'));
  const redis = new Redis(testRedisUrl());
  const floor = await startFloor({ env: { RTMANAGER_REDIS_URL: testRedisUrl() }, run: `alone-${randomUUID().slice(0, 8)}`, redis });
  const alone = await startAlone(nodeArgs, path.join(dir, 'access.log'));
  try {
    console.log(`the web's app alone (stub enqueuer, access log at info to a file): node ${nodeArgs.join(' ')}`);
    const pairs = await enqueuePairs(
      alone.target,
      floor,
      Number(process.env.BENCH_ENQUEUE_ROUNDS ?? 3),
      Number(process.env.BENCH_ENQUEUE_SECONDS ?? 10),
      Number(process.env.BENCH_CONNECTIONS ?? 16),
    );
    console.log(`app alone against the floor: ${describePairs(pairs)}`);
    console.log(
      JSON.stringify({
        http_alone_rps: pairs.figures.enqueue_rps,
        http_alone_ratio: pairs.figures.enqueue_ratio,
        http_alone_p99_ratio: pairs.figures.enqueue_p99_ratio,
      }),
    );
  } finally {
    await alone.stop();
    await floor.stop();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
