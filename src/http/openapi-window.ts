/** The OpenAPI document's paths of contract §16, the operator's window (routes/stats.ts, events.ts, logs.ts). */
import { z } from 'zod';
import type { Json } from './openapi-parts.js';
import { COMMON_ERRORS, errorResponse, gameIdParameter, json, queryParameters, schema } from './openapi-parts.js';
import { errorJson, logDroppedJson, logEndJson, logLineJson, logsQuery } from './schemas.js';
import { eventsQuery, healthEventJson, lastEventIdHeader, statsJson } from './window-schemas.js';

export /** Stats and the live events. */
function windowPathItems(): Json {
  return {
    '/api/v1/internal/runtimes/{game_id}/stats': {
      get: {
        operationId: 'getRuntimeStats',
        summary: "One reading of the game's engine: CPU, memory, processes, network (about a second: CPU is a rate)",
        tags: ['window'],
        parameters: [gameIdParameter],
        responses: {
          '200': json('the reading', statsJson),
          '404': errorResponse('no record'),
          '409': errorResponse('the game is not running (code conflict)'),
          ...COMMON_ERRORS,
          '503': errorResponse("the daemon does not answer, or (on a swarm) the engine runs on a node whose daemon the manager's is not"),
        },
      },
    },
    '/api/v1/internal/events': {
      get: {
        operationId: 'streamHealthEvents',
        summary: 'The health events (runtime:health_events) as Server-Sent Events: `id` is the stream entry id, the data the event as JSON',
        description:
          'A followed stream sends a `: ping` comment every 15 s, ends when the client goes, and counts toward the follower ceiling. A failure after the stream began is an `error` event carrying the error JSON, then the end.',
        tags: ['window'],
        parameters: [...queryParameters(eventsQuery), { name: 'Last-Event-ID', in: 'header', required: false, schema: schema(lastEventIdHeader, 'input') }],
        responses: {
          '200': { description: "SSE; each event's data is a HealthEvent", content: { 'text/event-stream': { schema: schema(healthEventJson) } } },
          ...COMMON_ERRORS,
          '503': errorResponse('follow=true and the follower ceiling is reached (code service_unavailable)'),
        },
      },
    },
  };
}

export /** The logs: a stream, in NDJSON or as Server-Sent Events. */
function logPathItems(): Json {
  const events = z.union([logLineJson, logDroppedJson, logEndJson, errorJson]);
  return {
    '/api/v1/internal/runtimes/{game_id}/logs': {
      get: {
        operationId: 'getRuntimeLogs',
        summary: "The engine's output: the last `tail` lines, then with `follow` every line until the container stops",
        description:
          "One JSON object a line (NDJSON), or with `Accept: text/event-stream` one Server-Sent Event each: `log` (a LogLine), `dropped` (lines left out for a reader that did not keep up), `end` (a followed stream's last: the container stopped), `error` (the engine's stream broke off). A record with no container has no lines; a follow of it ends at once with the record's last exit code.",
        tags: ['records'],
        parameters: [gameIdParameter, ...queryParameters(logsQuery)],
        responses: {
          '200': {
            description: 'the stream',
            content: {
              'application/x-ndjson': { schema: schema(events) },
              'text/event-stream': { schema: { type: 'string', description: '`event: log|dropped|end|error`, `data:` the same JSON as the NDJSON line' } },
            },
          },
          '404': errorResponse('no record'),
          ...COMMON_ERRORS,
          '503': errorResponse('the engine cannot be read, or RTMANAGER_LOG_STREAM_MAX_FOLLOWERS streams are already followed (with follow)'),
        },
      },
    },
  };
}
