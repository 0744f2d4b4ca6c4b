import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from '../../domain/timeout.js';

/**
 * - `bullmq`: BullMQ requires `maxRetriesPerRequest: null` (it blocks).
 * - `blocking`: a connection of its own for XREADGROUP BLOCK.
 * - `command`: ordinary commands; retries while Redis restarts.
 * - `failfast`: for the HTTP path: no offline queue, so a request answers
 *   503 at once instead of hanging while Redis is down.
 * - `enqueue`: the enqueue path (mutex and the Queue's adds) with auto
 *   pipelining: commands of concurrent requests issued in one tick go out in
 *   one write. Under load that halves the web process's syscalls. Never for
 *   workers: their blocking and lock-renewing calls keep their own connection.
 */
export type RedisRole = 'bullmq' | 'blocking' | 'command' | 'failfast' | 'enqueue';

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  bullmq: { maxRetriesPerRequest: null },
  blocking: { maxRetriesPerRequest: null },
  command: { maxRetriesPerRequest: 3 },
  failfast: { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000 },
  enqueue: { maxRetriesPerRequest: null, enableAutoPipelining: true },
};

/** `opts` come last: a caller (or a test) may override what its role sets. */
export function createRedis(url: string, role: RedisRole, opts: RedisOptions = {}): Redis {
  return new Redis(url, { connectionName: `rtmanager-${role}`, ...ROLE_OPTIONS[role], ...opts });
}

export async function redisPing(redis: Redis, timeoutMs: number): Promise<void> {
  await withTimeout(redis.ping(), timeoutMs, `redis did not answer within ${timeoutMs} ms`);
}
