import type { Redis } from 'ioredis';
import type { NotificationIntent } from '../../domain/model.js';
import type { Notifications } from '../../domain/ports.js';

/** Bounds the stream's memory should the Notification Service stop reading. */
const MAXLEN = 100_000;

/** `notification:intents` (contract §6): admin-only failure intents. */
export class RedisNotifications implements Notifications {
  constructor(private readonly opts: { redis: Redis; stream: string }) {
    if (!opts.redis) throw new Error('RedisNotifications: redis is required');
    if (!opts.stream) throw new Error('RedisNotifications: stream is required');
  }

  async publish(intent: NotificationIntent): Promise<void> {
    await this.opts.redis.xadd(
      this.opts.stream,
      'MAXLEN',
      '~',
      MAXLEN,
      '*',
      'notification_type',
      intent.notificationType,
      'idempotency_key',
      intent.idempotencyKey,
      'audience',
      intent.audience,
      'occurred_at_ms',
      String(intent.occurredAt.getTime()),
      'payload',
      JSON.stringify(intent.payload),
    );
  }
}
