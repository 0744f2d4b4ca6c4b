/**
 * The web role: the Hono app (API, health, metrics, OpenAPI, Bull Board) on
 * its HTTP server, with the queue events `?wait=` listens to.
 */
import { QueueEvents } from 'bullmq';
import { createApp } from '../http/app.js';
import { mountBullBoard } from '../http/bull-board.js';
import { listen } from '../http/server.js';
import { createRedis, redisPing } from '../infra/redis/connection.js';
import { createJobStatus } from '../jobs/job-status.js';
import type { QueueName } from '../jobs/queues.js';
import { QUEUE_OF } from '../jobs/queues.js';
import type { Closer, Infrastructure } from './infrastructure.js';

export function startWebRole(infra: Infrastructure): Closer[] {
  const { config, deps, logger, queues, telemetry } = infra;
  const queueEvents: Partial<Record<QueueName, QueueEvents>> = {};
  for (const name of Object.values(QUEUE_OF)) {
    queueEvents[name] = new QueueEvents(name, { connection: createRedis(config.redisUrl, 'bullmq'), prefix: config.queuePrefix });
  }
  // /readyz says at once that Redis is down: a connection without an offline queue.
  const failFast = createRedis(config.redisUrl, 'failfast');
  const app = createApp({
    enqueuer: infra.enqueuer,
    jobs: createJobStatus({ queues, queueEvents, records: deps.records, operations: deps.operations }),
    records: deps.records,
    operations: deps.operations,
    readiness: {
      redis: () => redisPing(failFast, 1_000),
      postgres: () => infra.database.ping(),
      docker: async () => {
        if (!(await infra.docker.ping())) throw new Error('docker engine does not answer');
      },
    },
    metricsText: () => telemetry.metricsText(),
    auth: config.auth,
    bodyLimitBytes: config.http.bodyLimitBytes,
    maxWaiters: config.http.maxWaiters,
    logger,
    bullBoard: (app) => mountBullBoard(app, Object.values(queues), { ...config.auth, writeEnabled: config.adminWriteEnabled }),
  });
  const server = listen(app.fetch, { hostname: config.http.host, port: config.http.port });
  logger.info({ role: 'web', url: `http://${config.http.host}:${config.http.port}` }, 'web listening');

  return [
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    ...Object.values(queueEvents).map((events) => () => events.close()),
    () => failFast.quit(),
  ];
}
