/**
 * The web role: the Hono app (API, health, metrics, OpenAPI, Bull Board) on
 * its HTTP server, with the queue events `?wait=` listens to.
 */
import { QueueEvents } from 'bullmq';
import { createApp } from '../http/app.js';
import { boundedGate } from '../http/follower-gate.js';
import { mountBullBoard } from '../http/bull-board.js';
import type { GameWindow } from '../http/games-pages.js';
import { mountGamesPages } from '../http/games-pages.js';
import { statsRoutes } from '../http/routes/stats.js';
import type { ReadinessChecks } from '../http/readiness.js';
import { listen } from '../http/server.js';
import { createRedis } from '../infra/redis/connection.js';
import { RedisHealthEventsReader } from '../infra/redis/health-events-reader.js';
import { createJobStatus } from '../jobs/job-status.js';
import type { QueueName } from '../jobs/queues.js';
import { QUEUE_OF } from '../jobs/queues.js';
import type { Closer, Infrastructure } from './infrastructure.js';

/** `readiness`: the process's checks; in `all` mode they include the worker's and the intake's. */
export function startWebRole(infra: Infrastructure, readiness: ReadinessChecks): Closer[] {
  const { config, deps, logger, queues, telemetry } = infra;
  const queueEvents: Partial<Record<QueueName, QueueEvents>> = {};
  for (const name of Object.values(QUEUE_OF)) {
    queueEvents[name] = new QueueEvents(name, { connection: createRedis(config.redisUrl, 'bullmq'), prefix: config.queuePrefix });
  }
  // Contract §16: the followers of the live events end when the process closes, so that the server can close.
  const closing = new AbortController();
  const app = createApp({
    enqueuer: infra.enqueuer,
    jobs: createJobStatus({
      queues,
      queueEvents,
      records: deps.records,
      operations: deps.operations,
      hasDeferred: (queue, gameId) => infra.enqueuer.hasDeferred(queue, gameId),
    }),
    records: deps.records,
    operations: deps.operations,
    docker: deps.docker,
    healthEventsReader: new RedisHealthEventsReader({
      redis: infra.commands,
      stream: config.streams.healthEvents,
      openConnection: () => createRedis(config.redisUrl, 'blocking', { connectionName: 'rtmanager-event-follower' }),
    }),
    followerGate: boundedGate(100), // wired to RTMANAGER_LOG_STREAM_MAX_FOLLOWERS at merge
    countEventFollowers: (delta) => telemetry.recordEventFollowers(delta),
    closing: closing.signal,
    readiness,
    metricsText: () => telemetry.metricsText(),
    auth: config.auth,
    bodyLimitBytes: config.http.bodyLimitBytes,
    maxWaiters: config.http.maxWaiters,
    logger,
    bullBoard: (app) => mountBullBoard(app, Object.values(queues), { ...config.auth, writeEnabled: config.adminWriteEnabled }),
    gamesPages: (app) => mountGamesPages(app, { records: deps.records, operations: deps.operations, window: gameWindow(infra), login: config.auth }),
  });
  const server = listen(app.fetch, { hostname: config.http.host, port: config.http.port });
  logger.info({ role: 'web', url: `http://${config.http.host}:${config.http.port}` }, 'web listening');

  return [
    () => {
      closing.abort();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
    ...Object.values(queueEvents).map((events) => () => events.close()),
  ];
}

/**
 * What the games pages read of an engine, through the API's own routes
 * (without their bearer token: the pages are behind the dashboard's login),
 * so a page shows exactly what the API answers.
 */
function gameWindow({ deps }: Infrastructure): GameWindow {
  const stats = statsRoutes({ records: deps.records, docker: deps.docker });
  const logs = notWired('logs');
  return {
    stats: async (gameId) => stats.request(`/runtimes/${encodeURIComponent(gameId)}/stats`),
    logs: () => Promise.resolve(logs()),
  };
}

function notWired(what: string): () => Response {
  return () =>
    new Response(JSON.stringify({ error: { code: 'service_unavailable', message: `the ${what} endpoint is not wired yet` } }), {
      status: 503,
      headers: { 'content-type': 'application/json' },
    });
}
