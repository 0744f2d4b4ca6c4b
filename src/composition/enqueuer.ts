/**
 * The enqueuer as the roles use it: BullMQ's queues (src/jobs/enqueue.ts)
 * over the games' order kept in Redis (src/infra/redis/order-admission.ts).
 */
import type { Queue } from 'bullmq';
import type { Logger } from '../domain/ports.js';
import { RedisOrderAdmission, type OrderAdmissionDeps } from '../infra/redis/order-admission.js';
import type { Enqueuer } from '../jobs/enqueue.js';
import { LifecycleEnqueuer } from '../jobs/enqueue.js';
import type { QueueName } from '../jobs/queues.js';

export interface EnqueuerSettings extends Omit<OrderAdmissionDeps, 'bullPrefix'> {
  queues: Record<QueueName, Queue>;
  logger: Logger;
  attempts: number;
  backoffMs: number;
}

export function createEnqueuer({ queues, logger, attempts, backoffMs, ...admission }: EnqueuerSettings): Enqueuer {
  // The order's keys live under the queues' own prefix: the scripts read their jobs.
  const bullPrefix = queues['start-runtime'].opts.prefix ?? 'bull';
  const order = new RedisOrderAdmission({ ...admission, bullPrefix });
  return new LifecycleEnqueuer({ queues, order, logger, attempts, backoffMs });
}
