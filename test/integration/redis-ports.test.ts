import { testRedisUrl } from '../support/services.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { HealthEvent, HealthEventType, NotificationIntent, NotificationType } from '../../src/domain/model.js';
import { PostgresHealthSnapshots } from '../../src/infra/db/postgres-health-snapshots.js';
import { createRedis, redisPing } from '../../src/infra/redis/connection.js';
import { RedisGameLeases } from '../../src/infra/redis/game-leases.js';
import { RedisHealthEvents } from '../../src/infra/redis/health-events.js';
import { RedisNotifications } from '../../src/infra/redis/notifications.js';
import { describeGameLeasesContract } from '../contracts/game-leases.contract.js';
import { describeHealthEventsContract, describeNotificationsContract } from '../contracts/streams.contract.js';
import { createTestDatabase } from '../support/db.js';

const REDIS_URL = testRedisUrl();

function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

describeGameLeasesContract('redis', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `test:${randomUUID()}:lease:`;
  return Promise.resolve({
    port: new RedisGameLeases({ redis, prefix }),
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    cleanup: async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
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
      if (last) expect(await snapshots.get(last.gameId)).toMatchObject({ eventType: last.eventType, containerId: last.containerId, details: last.details });
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

describe('redis connections', () => {
  it('the fail-fast connection rejects at once while Redis is unreachable', async () => {
    const redis = createRedis('redis://127.0.0.1:1', 'failfast');
    redis.on('error', () => undefined);
    const began = Date.now();
    await expect(redisPing(redis, 2_000)).rejects.toThrow();
    expect(Date.now() - began).toBeLessThan(2_500);
    redis.disconnect();
  });

  it('pings a live Redis', async () => {
    const redis = createRedis(REDIS_URL, 'command');
    await expect(redisPing(redis, 2_000)).resolves.toBeUndefined();
    redis.disconnect();
  });
});
