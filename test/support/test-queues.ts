import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { QueueName } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { testRedisUrl } from './services.js';

/**
 * Every queue under a key prefix of its own, a BullMQ connection and a plain
 * one; `close()` obliterates the queues and deletes every key under the prefix
 * (mutexes, order places) so tests never see each other's jobs.
 */
export function testQueues() {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const redis = new Redis(testRedisUrl());
  const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection, prefix })])) as Record<QueueName, Queue>;
  async function close(): Promise<void> {
    for (const q of Object.values(queues)) {
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    connection.disconnect();
  }
  return { prefix, connection, redis, queues, close };
}
