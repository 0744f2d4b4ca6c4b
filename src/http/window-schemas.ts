/**
 * The HTTP shapes of contract §16's stats and live events, as zod schemas
 * (the handlers parse with them, the OpenAPI document is made from them).
 */
import { z } from 'zod';
import { HEALTH_EVENT_TYPES } from '../domain/model.js';
import { gameIdParam } from './schemas.js';

export const statsJson = z
  .object({
    cpu_percent: z.number().meta({ description: 'CPU over about a second, as `docker stats` counts it: 100 is one CPU busy, 200 two' }),
    memory_bytes: z.number().int().meta({ description: 'memory in use less the inactive page cache the kernel can reclaim, as `docker stats` shows it' }),
    memory_limit_bytes: z.number().int().meta({ description: "the container's memory limit (the machine's memory when it has none)" }),
    pids: z.number().int().meta({ description: 'processes and threads in the container' }),
    net_rx_bytes: z.number().int().meta({ description: 'received on all its networks since it started' }),
    net_tx_bytes: z.number().int().meta({ description: 'sent on all its networks since it started' }),
    read_at: z.string().meta({ description: 'when the daemon took the reading (ISO-8601 UTC)' }),
  })
  .meta({ id: 'EngineStats' });

export const eventsQuery = z.object({
  game_id: gameIdParam.optional().meta({ description: "only this game's events (every game's when absent)" }),
  follow: z
    .enum(['true', 'false'])
    .default('false')
    .meta({ description: '`false`: the events the stream holds, then the response ends; `true`: then every new one as it comes, until the client goes' }),
});

/** `Last-Event-ID`: a stream entry id. */
export const lastEventIdHeader = z
  .string()
  .regex(/^\d+-\d+$/, 'a stream entry id, {ms}-{seq}')
  .meta({ description: 'resume after this stream entry id (what the last event carried as its `id`); an EventSource sends it when it reconnects' });

export const healthEventJson = z
  .object({
    game_id: z.string(),
    container_id: z.string().meta({ description: 'empty when the container had disappeared' }),
    event_type: z.string().meta({ description: `one of ${HEALTH_EVENT_TYPES.join(', ')} (a newer manager may add more)` }),
    occurred_at_ms: z.number().int().meta({ description: 'unix milliseconds' }),
    details: z.record(z.string(), z.unknown()).meta({ description: 'the event\'s details (details that were not a JSON object come as {"raw": …})' }),
  })
  .meta({ id: 'HealthEvent', description: 'an entry of runtime:health_events (contract §6), the data of one SSE event whose `id` is the entry id' });
