/**
 * Contract §16's live events: `runtime:health_events` as Server-Sent Events.
 * Each event's `id` is its stream entry id and its data the entry as JSON
 * (contract §6's field names); `Last-Event-ID` resumes after an id, as an
 * EventSource does when it reconnects. `follow=true` keeps the response open
 * for new events — on a Redis connection of its own, closed when the client
 * goes — with a `: ping` comment every heartbeat, within the follower ceiling.
 */
import { Hono } from 'hono';
import type { SSEStreamingApi } from 'hono/streaming';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { errorMessage } from '../../domain/errors.js';
import type { EventFeedOptions } from '../../domain/event-feed.js';
import { healthEventFeed } from '../../domain/event-feed.js';
import type { HealthEvent } from '../../domain/model.js';
import type { HealthEventsReader, Logger } from '../../domain/ports.js';
import { ANSWERS, fail, invalid } from '../answers.js';
import type { Env } from '../env.js';
import type { FollowerGate } from '../follower-gate.js';
import type { healthEventJson } from '../window-schemas.js';
import { eventsQuery, lastEventIdHeader } from '../window-schemas.js';

/** Contract §16: a comment this often keeps a quiet followed stream (and the proxies on its way) open. */
const EVENT_HEARTBEAT_MS = 15_000;

export interface EventRouteDeps {
  healthEventsReader: HealthEventsReader;
  /** The ceiling on followed streams, shared with the logs' (contract §16). */
  followerGate: FollowerGate;
  /** `rtmanager_event_followers`: +1 when a followed stream begins, -1 when it ends. */
  countEventFollowers?: (delta: 1 | -1) => void;
  /** Between heartbeats of a followed stream [EVENT_HEARTBEAT_MS]. */
  eventHeartbeatMs?: number;
  /** Aborted when the process closes: followed streams end, so that the server can close. */
  closing?: AbortSignal;
  logger?: Logger;
}

export function eventRoutes(deps: EventRouteDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/events', (c) => {
    const query = eventsQuery.safeParse(c.req.query());
    if (!query.success) return invalid(c, 'query', query.error);
    // An empty header is as good as none: nothing seen yet.
    const lastId = lastEventIdHeader.optional().safeParse(c.req.header('last-event-id') || undefined);
    if (!lastId.success) return invalid(c, 'Last-Event-ID', lastId.error);
    const follow = query.data.follow === 'true';
    const release = follow ? deps.followerGate.tryEnter() : () => undefined;
    if (!release) return fail(c, 'unavailable', 'too many followed streams at once (the follower ceiling): try again later');
    const feed = { afterId: lastId.data ?? '0-0', follow, ...(query.data.game_id ? { gameId: query.data.game_id } : {}) };
    c.status(ANSWERS.found.status);
    return streamSSE(c, (stream) => sendFeed(stream, feed, deps, release));
  });

  return app;
}

/** The feed onto the stream until it ends, the client goes, or the process closes; then the slot is freed. */
async function sendFeed(stream: SSEStreamingApi, feed: Omit<EventFeedOptions, 'signal'>, deps: EventRouteDeps, release: () => void): Promise<void> {
  const ended = new AbortController();
  const end = () => ended.abort();
  stream.onAbort(end);
  if (deps.closing?.aborted) end();
  deps.closing?.addEventListener('abort', end, { once: true });
  const writes = new SerialWrites(stream);
  const heartbeat = feed.follow ? setInterval(() => writes.heartbeat(), deps.eventHeartbeatMs ?? EVENT_HEARTBEAT_MS) : undefined;
  if (feed.follow) deps.countEventFollowers?.(1);
  try {
    for await (const entry of healthEventFeed(deps.healthEventsReader, { ...feed, signal: ended.signal })) {
      await writes.event(entry.id, healthEventToJson(entry.event));
    }
  } catch (error) {
    // Headers are sent: the failure can only be told in the stream, as an `error` event, before it ends.
    deps.logger?.warn({ err: errorMessage(error) }, 'health events stream failed');
    if (!ended.signal.aborted) await writes.error(errorMessage(error));
  } finally {
    clearInterval(heartbeat);
    deps.closing?.removeEventListener('abort', end);
    if (feed.follow) deps.countEventFollowers?.(-1);
    release();
  }
}

/**
 * One write at a time, in order. A heartbeat is skipped while a write waits
 * for a slow client: it would only queue behind it, and the client is
 * evidently still there.
 */
class SerialWrites {
  private pending = 0;

  constructor(private readonly stream: SSEStreamingApi) {}

  event(id: string, data: z.infer<typeof healthEventJson>): Promise<void> {
    return this.track(this.stream.writeSSE({ id, data: JSON.stringify(data) }));
  }

  error(message: string): Promise<void> {
    return this.track(this.stream.writeSSE({ event: 'error', data: JSON.stringify({ error: { code: ANSWERS.unavailable.code, message } }) }));
  }

  heartbeat(): void {
    if (this.pending === 0) void this.track(this.stream.write(': ping\n\n'));
  }

  private async track(write: Promise<unknown>): Promise<void> {
    this.pending += 1;
    try {
      await write;
    } finally {
      this.pending -= 1;
    }
  }
}

function healthEventToJson(event: HealthEvent): z.infer<typeof healthEventJson> {
  return {
    game_id: event.gameId,
    container_id: event.containerId,
    event_type: event.eventType,
    occurred_at_ms: event.occurredAt.getTime(),
    details: event.details,
  };
}
