import type { Redis } from 'ioredis';
import type { NotificationIntent } from '../../domain/model.js';
import type { Notifications } from '../../domain/ports.js';
import { publishToStream } from './stream-publisher.js';

/** `notification:intents` (contract §6): admin-only failure intents. */
export class RedisNotifications implements Notifications {
  constructor(private readonly opts: { redis: Redis; stream: string }) {
    if (!opts.redis) throw new Error('RedisNotifications: redis is required');
    if (!opts.stream) throw new Error('RedisNotifications: stream is required');
  }

  async publish(intent: NotificationIntent): Promise<void> {
    await publishToStream(this.opts.redis, this.opts.stream, [
      ['notification_type', intent.notificationType],
      ['idempotency_key', intent.idempotencyKey],
      ['audience', intent.audience],
      ['occurred_at_ms', String(intent.occurredAt.getTime())],
      ['payload', JSON.stringify(intent.payload)],
    ]);
  }
}
