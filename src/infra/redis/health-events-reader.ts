/**
 * The HealthEventsReader port on `runtime:health_events` (contract §6, §16):
 * pages by XRANGE on the shared command connection; each follower blocks in
 * XREAD on a connection of its own, which its close disconnects (a blocked
 * read holds its connection: sharing one would stall every other command).
 */
import type { Redis } from 'ioredis';
import type { HealthEventType } from '../../domain/model.js';
import type { HealthEventEntry, HealthEventsFollower, HealthEventsReader } from '../../domain/ports.js';

type StreamEntry = [id: string, fields: string[]];

export interface RedisHealthEventsReaderOptions {
  /** Ordinary commands: the pages. */
  redis: Redis;
  stream: string;
  /** A new connection for one follower, closed by it (createRedis's `blocking` role). */
  openConnection: () => Redis;
}

export class RedisHealthEventsReader implements HealthEventsReader {
  constructor(private readonly opts: RedisHealthEventsReaderOptions) {
    if (!opts.redis) throw new Error('RedisHealthEventsReader: redis is required');
    if (!opts.stream) throw new Error('RedisHealthEventsReader: stream is required');
    if (!opts.openConnection) throw new Error('RedisHealthEventsReader: openConnection is required');
  }

  async readAfter(afterId: string, count: number): Promise<HealthEventEntry[]> {
    // `(id`: strictly after it (Redis ≥ 6.2).
    const entries = await this.opts.redis.xrange(this.opts.stream, `(${afterId}`, '+', 'COUNT', count);
    return entries.map(entryOf);
  }

  follow(): HealthEventsFollower {
    const connection = this.opts.openConnection();
    // Its failures reach the read under way; the event would otherwise be logged by ioredis as unhandled.
    connection.on('error', () => undefined);
    let closed = false;
    const { stream } = this.opts;
    return {
      next: async (afterId, count, waitMs) => {
        if (closed) throw new Error('the health events follower is closed');
        const reply = await connection.xread('COUNT', count, 'BLOCK', waitMs, 'STREAMS', stream, afterId);
        return (reply?.[0]?.[1] ?? []).map(entryOf);
      },
      close: () => {
        if (closed) return;
        closed = true;
        // Not QUIT, which would wait behind the blocked read: the socket goes now, and the read rejects.
        connection.disconnect();
      },
    };
  }
}

/** An entry as the stream holds it: its fields by name, read leniently (it is shown, not acted on). */
function entryOf([id, flat]: StreamEntry): HealthEventEntry {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
  return {
    id,
    event: {
      gameId: fields.get('game_id') ?? '',
      containerId: fields.get('container_id') ?? '',
      eventType: (fields.get('event_type') ?? '') as HealthEventType,
      occurredAt: new Date(Number(fields.get('occurred_at_ms') ?? 0)),
      details: detailsOf(fields.get('details') ?? '{}'),
    },
  };
}

function detailsOf(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Shown as it is below.
  }
  return { raw };
}
