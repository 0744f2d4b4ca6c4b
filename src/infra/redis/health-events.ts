import type { Redis } from 'ioredis';
import type { HealthEvent } from '../../domain/model.js';
import type { HealthEvents } from '../../domain/ports.js';
import { publishToStream } from './stream-publisher.js';

/** `runtime:health_events` (contract §6) plus the `health_snapshots` row. */
export class RedisHealthEvents implements HealthEvents {
  constructor(private readonly opts: { redis: Redis; stream: string; snapshots: { upsert(event: HealthEvent): Promise<void> } }) {
    if (!opts.redis) throw new Error('RedisHealthEvents: redis is required');
    if (!opts.stream) throw new Error('RedisHealthEvents: stream is required');
    if (!opts.snapshots) throw new Error('RedisHealthEvents: snapshots is required');
  }

  async publish(event: HealthEvent): Promise<void> {
    await publishToStream(this.opts.redis, this.opts.stream, [
      ['game_id', event.gameId],
      ['container_id', event.containerId],
      ['event_type', event.eventType],
      ['occurred_at_ms', String(event.occurredAt.getTime())],
      ['details', JSON.stringify(event.details)],
    ]);
    // Stream first: the snapshot never shows an event the stream lacks.
    await this.opts.snapshots.upsert(event);
  }
}
