/** The HealthEventsReader port on a real Redis: its contract, and that a follower's connection is its own and goes with it. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createRedis } from '../../src/infra/redis/connection.js';
import { RedisHealthEvents } from '../../src/infra/redis/health-events.js';
import { RedisHealthEventsReader } from '../../src/infra/redis/health-events-reader.js';
import { describeHealthEventsReaderContract } from '../contracts/health-events-reader.contract.js';
import { testRedisUrl } from '../support/services.js';

const REDIS_URL = testRedisUrl();
const noSnapshots = { upsert: () => Promise.resolve() };

/** Connections Redis holds under this client name. */
async function connectionsNamed(redis: Redis, name: string): Promise<number> {
  const list = (await redis.client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
}

function subject() {
  const redis = new Redis(REDIS_URL);
  const stream = `test:${randomUUID()}:health`;
  const followerName = `rtm-test-follower-${randomUUID().slice(0, 8)}`;
  const port = new RedisHealthEventsReader({ redis, stream, openConnection: () => createRedis(REDIS_URL, 'blocking', { connectionName: followerName }) });
  const publisher = new RedisHealthEvents({ redis, stream, snapshots: noSnapshots });
  return {
    port,
    redis,
    followerName,
    publish: (e: Parameters<RedisHealthEvents['publish']>[0]) => publisher.publish(e),
    cleanup: async () => {
      await redis.del(stream);
      redis.disconnect();
    },
  };
}

describeHealthEventsReaderContract('redis stream', () => Promise.resolve(subject()));

it('a follower reads on a connection of its own, which its close lets go of even in the middle of a blocked read', async () => {
  const s = subject();
  try {
    expect(await connectionsNamed(s.redis, s.followerName)).toBe(0);
    const follower = s.port.follow();
    const waiting = follower.next('$', 10, 30_000).catch(() => 'closed');
    await expect.poll(() => connectionsNamed(s.redis, s.followerName), { timeout: 5_000 }).toBe(1);
    follower.close();
    expect(await waiting).toBe('closed');
    await expect.poll(() => connectionsNamed(s.redis, s.followerName), { timeout: 5_000 }).toBe(0);
  } finally {
    await s.cleanup();
  }
});
