/**
 * The web role: the Hono app (API, health, metrics, OpenAPI, Bull Board) on
 * its HTTP server, with the queue events `?wait=` listens to.
 */
import { QueueEvents } from 'bullmq';
import { createApp } from '../http/app.js';
import { followerGate } from '../http/follower-gate.js';
import { mountBullBoardLazily } from '../http/lazy-bull-board.js';
import type { GameWindow } from '../http/games-pages.js';
import { mountGamesPages } from '../http/games-pages.js';
import type { LogRouteDeps } from '../http/routes/logs.js';
import { logRoutes } from '../http/routes/logs.js';
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
  // One ceiling for every followed stream of the process (contract §16).
  const followers = followerGate(config.window.logStream.maxFollowers);
  telemetry.setFollowersSource(() => followers.active);
  // Aborted first at shutdown: a followed stream would otherwise hold the server's close for as long as its client stays.
  const streams = new AbortController();
  const following = {
    followers,
    logBufferBytes: config.window.logStream.bufferBytes,
    onLogLineDropped: () => telemetry.recordLogLineDropped(),
    shutdown: streams.signal,
  };
  const { queueEvents, opened } = queueEventsOnDemand(config);
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
    // The live events share the logs' ceiling and end with them at shutdown.
    followerGate: followers,
    countEventFollowers: (delta) => telemetry.recordEventFollowers(delta),
    closing: streams.signal,
    readiness,
    metricsText: () => telemetry.metricsText(),
    auth: config.auth,
    bodyLimitBytes: config.http.bodyLimitBytes,
    maxWaiters: config.http.maxWaiters,
    engine: infra.backend.engine,
    ...following,
    logger,
    bullBoard: (app) => mountBullBoardLazily(app, Object.values(queues), { ...config.auth, writeEnabled: config.adminWriteEnabled }),
    gamesPages: (app) => mountGamesPages(app, { records: deps.records, operations: deps.operations, window: gameWindow(infra, following), login: config.auth }),
  });
  const server = listen(app.fetch, { hostname: config.http.host, port: config.http.port });
  logger.info({ role: 'web', url: `http://${config.http.host}:${config.http.port}` }, 'web listening');

  return [
    () => {
      streams.abort();
      return Promise.resolve();
    },
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    () => Promise.all(opened.map((events) => events.close())),
  ];
}

/**
 * The queue events `?wait` listens to, each opened at its queue's first
 * `?wait`, not at boot: each holds a blocking Redis connection and reads
 * every event of its queue, which a web process that is only polled never
 * needs. Opening late misses nothing: BullMQ's waitUntilFinished listens,
 * waits until its QueueEvents is ready, then asks whether the job already ended.
 */
function queueEventsOnDemand(config: Infrastructure['config']) {
  const queueEvents: Partial<Record<QueueName, QueueEvents>> = {};
  const opened: QueueEvents[] = [];
  for (const name of Object.values(QUEUE_OF)) {
    let events: QueueEvents | undefined;
    Object.defineProperty(queueEvents, name, {
      enumerable: true,
      get: () => {
        if (!events) {
          events = new QueueEvents(name, { connection: createRedis(config.redisUrl, 'bullmq'), prefix: config.queuePrefix });
          opened.push(events);
        }
        return events;
      },
    });
  }
  return { queueEvents, opened };
}

/**
 * What the games pages read of an engine, through the API's own routes
 * (without their bearer token: the pages are behind the dashboard's login),
 * so a page shows exactly what the API answers.
 */
function gameWindow({ deps }: Infrastructure, following: Omit<LogRouteDeps, 'records' | 'engine'>): GameWindow {
  const stats = statsRoutes({ records: deps.records, docker: deps.docker });
  const logs = logRoutes({ records: deps.records, engine: deps.docker, ...following });
  const path = (gameId: string, what: string) => `/runtimes/${encodeURIComponent(gameId)}/${what}`;
  return {
    stats: async (gameId) => stats.request(path(gameId, 'stats')),
    // The browser's leaving aborts `signal`: the route ends the engine's stream with it.
    logs: async (gameId, query, accept, signal) => logs.request(`${path(gameId, 'logs')}?${query.toString()}`, { headers: { accept }, signal }),
  };
}
