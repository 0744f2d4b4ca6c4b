import { Redis } from 'ioredis';

/**
 * - `bullmq`: BullMQ requires `maxRetriesPerRequest: null` (it blocks).
 * - `blocking`: a connection of its own for XREADGROUP BLOCK.
 * - `command`: ordinary commands; retries while Redis restarts.
 * - `failfast`: for the HTTP path: no offline queue, so a request answers
 *   503 at once instead of hanging while Redis is down.
 */
export type RedisRole = 'bullmq' | 'blocking' | 'command' | 'failfast';

export function createRedis(url: string, role: RedisRole): Redis {
  switch (role) {
    case 'bullmq':
    case 'blocking':
      return new Redis(url, { maxRetriesPerRequest: null, connectionName: `rtmanager-${role}` });
    case 'command':
      return new Redis(url, { maxRetriesPerRequest: 3, connectionName: 'rtmanager-command' });
    case 'failfast':
      return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000, connectionName: 'rtmanager-failfast' });
  }
}

export async function redisPing(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
