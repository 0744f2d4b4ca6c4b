import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { HealthEvent, HealthEventType, NotificationIntent, NotificationType } from '../../src/domain/model.js';
import { PostgresHealthSnapshots } from '../../src/infra/db/postgres-health-snapshots.js';
import { createRedis, redisPing } from '../../src/infra/redis/connection.js';
import { RedisGameLeases } from '../../src/infra/redis/game-leases.js';
import { RedisHealthEvents } from '../../src/infra/redis/health-events.js';
import { RedisNotifications } from '../../src/infra/redis/notifications.js';
import { describeGameLeasesContract } from '../contracts/game-leases.contract.js';
import { describeHealthEventsContract } from '../contracts/health-events.contract.js';
import { describeNotificationsContract } from '../contracts/notifications.contract.js';
import { createTestDatabase } from '../support/db.js';
import { testRedisUrl } from '../support/services.js';

const REDIS_URL = testRedisUrl();

/** XRANGE's flat `[k1, v1, k2, v2…]` as an object, refusing a field twice. */
function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    expect(out).not.toHaveProperty(flat[i]!);
    out[flat[i]!] = flat[i + 1]!;
  }
  return out;
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  const keys = await redis.keys(pattern);
  if (keys.length) await redis.del(...keys);
}

describeGameLeasesContract('redis', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `test:${randomUUID()}:`;
  return Promise.resolve({
    port: new RedisGameLeases({ redis, prefix }),
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    cleanup: async () => {
      await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
    },
  });
});

describeHealthEventsContract('redis stream + postgres snapshot', async () => {
  const redis = new Redis(REDIS_URL);
  const stream = `test:${randomUUID()}:health`;
  const database = await createTestDatabase();
  const snapshots = new PostgresHealthSnapshots(database.db);
  return {
    port: new RedisHealthEvents({ redis, stream, snapshots }),
    readBack: async () => {
      const entries = await redis.xrange(stream, '-', '+');
      const events = entries.map(([, flat]): HealthEvent => {
        const f = fieldsOf(flat);
        expect(Object.keys(f).sort()).toEqual(['container_id', 'details', 'event_type', 'game_id', 'occurred_at_ms']);
        expect(f.occurred_at_ms).toMatch(/^\d+$/);
        return {
          gameId: f.game_id!,
          containerId: f.container_id!,
          eventType: f.event_type as HealthEventType,
          occurredAt: new Date(Number(f.occurred_at_ms)),
          details: JSON.parse(f.details!) as Record<string, unknown>,
        };
      });
      // The snapshot holds the newest event of each game.
      const last = events.at(-1);
      if (last) expect(await snapshots.get(last.gameId)).toEqual(last);
      return events;
    },
    cleanup: async () => {
      await redis.del(stream);
      redis.disconnect();
      await database.close();
    },
  };
});

describeNotificationsContract('redis stream', () => {
  const redis = new Redis(REDIS_URL);
  const stream = `test:${randomUUID()}:intents`;
  return Promise.resolve({
    port: new RedisNotifications({ redis, stream }),
    readBack: async () =>
      (await redis.xrange(stream, '-', '+')).map(([, flat]): NotificationIntent => {
        const f = fieldsOf(flat);
        expect(Object.keys(f).sort()).toEqual(['audience', 'idempotency_key', 'notification_type', 'occurred_at_ms', 'payload']);
        expect(f.occurred_at_ms).toMatch(/^\d+$/);
        return {
          notificationType: f.notification_type as NotificationType,
          idempotencyKey: f.idempotency_key!,
          audience: f.audience as 'admin',
          occurredAt: new Date(Number(f.occurred_at_ms)),
          payload: JSON.parse(f.payload!) as NotificationIntent['payload'],
        };
      }),
    cleanup: async () => {
      await redis.del(stream);
      redis.disconnect();
    },
  });
});

/** A RedisGameLeases under a prefix of its own, whose keys are deleted afterwards. */
async function withLeases(body: (leases: RedisGameLeases, redis: Redis, prefix: string) => Promise<void>): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const prefix = `test:${randomUUID()}:`;
  try {
    await body(new RedisGameLeases({ redis, prefix }), redis, prefix);
  } finally {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  }
}

describe('redis adapters beyond the port contracts', () => {
  it('a lease is the key {prefix}lease:{game_id} holding the token, with a millisecond TTL', () =>
    withLeases(async (leases, redis, prefix) => {
      // Not a round number of seconds: a TTL set in seconds could not end up at 5 250 ms.
      let since = Date.now();
      expect(await leases.tryAcquire('g-1', 'tok', 5_250)).toEqual(expect.any(Number));
      expect(await redis.get(`${prefix}lease:g-1`)).toBe('tok');
      const pttl = await redis.pttl(`${prefix}lease:g-1`);
      // Bounded by the calls themselves: what Redis counted down since the SET is at most what they took here (+1 for rounding).
      expect(pttl).toBeLessThanOrEqual(5_250);
      expect(pttl).toBeGreaterThanOrEqual(5_250 - (Date.now() - since) - 1);
      since = Date.now();
      expect(await leases.renew('g-1', 'tok', 20_250)).toBe(true);
      const renewed = await redis.pttl(`${prefix}lease:g-1`);
      expect(renewed).toBeLessThanOrEqual(20_250);
      expect(renewed).toBeGreaterThanOrEqual(20_250 - (Date.now() - since) - 1);
      expect(new RedisGameLeases({ redis }).key('g-1')).toBe('rtmanager:lease:g-1');
    }));

  it('fences come from {prefix}fence:{game_id}, at least the Redis clock in µs, the counter kept for the idle window (a day by default)', () =>
    withLeases(async (leases, redis, prefix) => {
      const redisMs = async () => {
        const [seconds, micros] = await redis.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      };
      const since = Date.now();
      const before = await redisMs();
      const fence = await leases.tryAcquire('g-1', 'tok', 5_000);
      const after = await redisMs();
      expect(await redis.get(`${prefix}fence:g-1`)).toBe(String(fence));
      const pttl = await redis.pttl(`${prefix}fence:g-1`);
      // Bounded by the calls themselves (+1 for rounding), as the lease's TTL above.
      expect(pttl).toBeGreaterThanOrEqual(86_400_000 - (Date.now() - since) - 1);
      expect(pttl).toBeLessThanOrEqual(86_400_000);
      // Redis's clock in µs (sec * 1e6 + usec), read by Redis between the two readings of its clock (in ms) around the call;
      // the counter here is fresh, so the clock decides. Exact in a JavaScript number.
      expect(fence).toBeGreaterThanOrEqual(before * 1000);
      expect(fence).toBeLessThan((after + 1) * 1000);
      expect(Number.isSafeInteger(fence)).toBe(true);
      // A refused acquisition spends no fence.
      expect(await leases.tryAcquire('g-1', 'other', 5_000)).toBeNull();
      expect(await redis.get(`${prefix}fence:g-1`)).toBe(String(fence));
      expect(new RedisGameLeases({ redis }).fenceKey('g-1')).toBe('rtmanager:fence:g-1');
    }));

  it('a fence counter Redis lost (a restart without persistence) starts again above every fence handed out', () =>
    withLeases(async (leases, redis, prefix) => {
      const earlier: number[] = [];
      for (const token of ['a', 'b', 'c', 'd', 'e']) {
        earlier.push((await leases.tryAcquire('g-1', token, 5_000))!);
        await leases.release('g-1', token);
      }
      await redis.del(`${prefix}fence:g-1`, `${prefix}lease:g-1`);
      const after = await leases.tryAcquire('g-1', 'f', 5_000);
      expect(after).toBeGreaterThan(Math.max(...earlier));
    }));

  it('a fence counter restored from an older copy (present, but behind) still hands out fences above every one handed out since', () =>
    withLeases(async (leases, redis, prefix) => {
      await leases.tryAcquire('g-1', 'a', 5_000);
      await leases.release('g-1', 'a');
      const snapshot = await redis.dumpBuffer(`${prefix}fence:g-1`);
      const since: number[] = [];
      for (const token of ['b', 'c', 'd']) {
        since.push((await leases.tryAcquire('g-1', token, 5_000))!);
        await leases.release('g-1', token);
      }
      await redis.restore(`${prefix}fence:g-1`, 0, snapshot, 'REPLACE');
      expect(Number(await redis.get(`${prefix}fence:g-1`))).toBeLessThan(Math.max(...since));
      expect(await leases.tryAcquire('g-1', 'e', 5_000)).toBeGreaterThan(Math.max(...since));
    }));

  it('a counter ahead of the clock (a raise, a host whose clock was ahead) keeps counting from itself', () =>
    withLeases(async (leases, redis, prefix) => {
      const ahead = (await leases.tryAcquire('g-1', 'a', 5_000))! + 3_600_000_000;
      await leases.release('g-1', 'a');
      await redis.set(`${prefix}fence:g-1`, String(ahead));
      expect(await leases.tryAcquire('g-1', 'b', 5_000)).toBe(ahead + 1);
      await leases.release('g-1', 'b');
      expect(await leases.raiseFenceAbove('g-1', ahead + 10)).toBe(true);
      expect(await leases.tryAcquire('g-1', 'c', 5_000)).toBe(ahead + 11);
    }));

  it('the fence counter expires once the game had no acquisition for the idle window, and the next fence is still above', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `test:${randomUUID()}:`;
    try {
      const IDLE_MS = 300;
      const leases = new RedisGameLeases({ redis, prefix, idleTtlMs: IDLE_MS });
      const first = (await leases.tryAcquire('g-1', 'a', 5_000))!;
      await leases.release('g-1', 'a');
      const pttl = await redis.pttl(`${prefix}fence:g-1`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(IDLE_MS);
      // Each acquisition starts the window again; so does a raise. Bounded by the calls themselves, not a fixed margin:
      // a window started again has counted down at most what the calls since took (+1 for rounding); the first one,
      // two thirds gone before them, would have less than that left.
      await new Promise((r) => setTimeout(r, (IDLE_MS * 2) / 3));
      let since = Date.now();
      const second = (await leases.tryAcquire('g-1', 'b', 5_000))!;
      await leases.release('g-1', 'b');
      expect(await redis.pttl(`${prefix}fence:g-1`)).toBeGreaterThanOrEqual(IDLE_MS - (Date.now() - since) - 1);
      since = Date.now();
      expect(await leases.raiseFenceAbove('g-1', second + 1_000_000_000)).toBe(true);
      expect(await redis.pttl(`${prefix}fence:g-1`)).toBeGreaterThanOrEqual(IDLE_MS - (Date.now() - since) - 1);
      await new Promise((r) => setTimeout(r, IDLE_MS + 100));
      expect(await redis.exists(`${prefix}fence:g-1`)).toBe(0);
      expect(await redis.exists(`${prefix}lease:g-1`)).toBe(0);
      const third = (await leases.tryAcquire('g-1', 'c', 5_000))!;
      expect(third).toBeGreaterThan(second);
      expect(second).toBeGreaterThan(first);
      expect(() => new RedisGameLeases({ redis, idleTtlMs: 0 })).toThrow(/idleTtlMs must be a positive integer/);
    } finally {
      await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
    }
  });

  it('refuses a fence of 2^53 or more and leaves the lease free', () =>
    withLeases(async (leases, redis, prefix) => {
      await redis.set(`${prefix}fence:g-1`, String(2 ** 53 - 1));
      await expect(leases.tryAcquire('g-1', 'a', 5_000)).rejects.toThrow(/reached 2\^53/);
      expect(await redis.exists(`${prefix}lease:g-1`)).toBe(0);
    }));

  it('streams are trimmed near their bound, not left to grow', async () => {
    // Filled past the bound first, then one publish each: the adapter's XADD trims (MAXLEN ~ 100000, whole
    // macro nodes of 100 entries). Watched through the streams' length, not MONITOR: a MONITOR connection
    // closed while a busy Redis still streams to it throws in ioredis (seen in the test command).
    const BOUND = 100_000;
    const OVER = 300;
    const redis = new Redis(REDIS_URL);
    const health = `test:${randomUUID()}:health`;
    const intents = `test:${randomUUID()}:intents`;
    try {
      for (const stream of [health, intents]) {
        for (let i = 0; i < BOUND + OVER; i += 10_000) {
          const batch = redis.pipeline();
          for (let j = i; j < Math.min(i + 10_000, BOUND + OVER); j++) batch.xadd(stream, '*', 'n', String(j));
          await batch.exec();
        }
        expect(await redis.xlen(stream)).toBe(BOUND + OVER);
      }
      const snapshots = { upsert: () => Promise.resolve() };
      const occurredAt = new Date();
      await new RedisHealthEvents({ redis, stream: health, snapshots }).publish({
        gameId: 'g',
        containerId: 'c',
        eventType: 'container_oom',
        occurredAt,
        details: {},
      });
      await new RedisNotifications({ redis, stream: intents }).publish({
        notificationType: 'runtime.container_start_failed',
        idempotencyKey: `runtime.container_start_failed.g.${occurredAt.getTime()}`,
        audience: 'admin',
        occurredAt,
        payload: { game_id: 'g', image_ref: 'i:1', error_code: 'container_start_failed', error_message: 'm', attempted_at_ms: occurredAt.getTime() },
      });
      for (const stream of [health, intents]) {
        const length = await redis.xlen(stream);
        expect(length).toBeGreaterThanOrEqual(BOUND);
        expect(length).toBeLessThanOrEqual(BOUND + 100);
      }
    } finally {
      await redis.del(health, intents);
      redis.disconnect();
    }
  }, 60_000);

  it('a failing snapshot write fails the publish, after the event is on the stream', async () => {
    const redis = new Redis(REDIS_URL);
    const stream = `test:${randomUUID()}:health`;
    try {
      const snapshots = { upsert: () => Promise.reject(new Error('postgres down')) };
      const port = new RedisHealthEvents({ redis, stream, snapshots });
      await expect(port.publish({ gameId: 'g', containerId: 'c', eventType: 'container_exited', occurredAt: new Date(), details: {} })).rejects.toThrow(
        'postgres down',
      );
      expect(await redis.xlen(stream)).toBe(1);
    } finally {
      await redis.del(stream);
      redis.disconnect();
    }
  });
});

describe('redis connections', () => {
  it('gives BullMQ and blocking readers no per-request retry limit, and the HTTP path no offline queue', () => {
    const opts = { lazyConnect: true };
    const made = (['bullmq', 'blocking', 'command', 'failfast'] as const).map((role) => createRedis(REDIS_URL, role, opts));
    try {
      expect(made.map((r) => [r.options.connectionName, r.options.maxRetriesPerRequest, r.options.enableOfflineQueue])).toEqual([
        ['rtmanager-bullmq', null, true],
        ['rtmanager-blocking', null, true],
        ['rtmanager-command', 3, true],
        ['rtmanager-failfast', 0, false],
      ]);
    } finally {
      for (const r of made) r.disconnect();
    }
  });

  // Time in these two moves only when the test says (fake timers): "at once" and "after its timeout" are
  // judged on the timers themselves, not on a stopwatch that a busy machine can stretch.
  it('the fail-fast connection rejects at once while Redis is unreachable', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const redis = createRedis('redis://127.0.0.1:1', 'failfast');
    redis.on('error', () => undefined);
    try {
      const ping = settled(redisPing(redis, 2_000));
      // No timer has fired, the ping's own timeout included: the connection refused the command itself.
      await vi.advanceTimersByTimeAsync(0);
      expect(ping.state()).toMatchObject({ rejected: expect.stringMatching(/enableOfflineQueue/) });
    } finally {
      redis.disconnect();
      vi.useRealTimers();
    }
  });

  it('redisPing gives up after its timeout on a connection that queues commands', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const redis = createRedis('redis://127.0.0.1:1', 'command');
    redis.on('error', () => undefined);
    try {
      const ping = settled(redisPing(redis, 300));
      await vi.advanceTimersByTimeAsync(299);
      expect(ping.state()).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(ping.state()).toEqual({ rejected: 'redis did not answer within 300 ms' });
    } finally {
      redis.disconnect();
      vi.useRealTimers();
    }
  });

  it('pings a live Redis', async () => {
    const redis = createRedis(REDIS_URL, 'command');
    await expect(redisPing(redis, 2_000)).resolves.toBeUndefined();
    redis.disconnect();
  });
});

/** A promise's state, readable at any moment without awaiting it. */
function settled(promise: Promise<unknown>): { state(): 'pending' | 'fulfilled' | { rejected: string } } {
  let state: 'pending' | 'fulfilled' | { rejected: string } = 'pending';
  promise.then(
    () => (state = 'fulfilled'),
    (error: unknown) => (state = { rejected: error instanceof Error ? error.message : String(error) }),
  );
  return { state: () => state };
}
