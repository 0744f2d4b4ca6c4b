/**
 * OpenAPI 3.1, generated from the same zod schemas the handlers parse with
 * (JSON Schema 2020-12 is OpenAPI 3.1's dialect). `/docs` renders it
 * (docs-page.ts).
 */
import { z } from 'zod';
import {
  emptyBody,
  enqueueResponse,
  errorJson,
  gameIdParam,
  listQuery,
  operationJson,
  operationsQuery,
  patchBody,
  pollResponse,
  recordJson,
  startBody,
  waitQuery,
} from './schemas.js';
import { eventsQuery, healthEventJson, lastEventIdHeader, statsJson } from './window-schemas.js';

type Json = Record<string, unknown>;

/**
 * Named schemas (zod `.meta({ id })`), shared by every operation. zod puts
 * them in each schema's own `$defs` with `#/$defs/…` refs, but in an OpenAPI
 * document such a ref resolves against the document root: they are moved to
 * `components.schemas` and the refs rewritten.
 */
const components: Record<string, unknown> = {};

function hoistDefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hoistDefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value as Json)) {
    if (key === '$defs') {
      for (const [id, def] of Object.entries(inner as Json)) {
        const hoisted = hoistDefs(def);
        if (id in components && JSON.stringify(components[id]) !== JSON.stringify(hoisted)) throw new Error(`two different schemas are named ${id}`);
        components[id] = hoisted;
      }
    } else if (key === '$ref' && typeof inner === 'string') {
      out[key] = inner.replace(/^#\/\$defs\//, '#/components/schemas/');
    } else {
      out[key] = hoistDefs(inner);
    }
  }
  return out;
}

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return hoistDefs(rest) as Json;
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: schema(errorJson) } } });
const json = (description: string, s: z.ZodType) => ({ description, content: { 'application/json': { schema: schema(s) } } });

const gameIdParameter = { name: 'game_id', in: 'path', required: true, schema: schema(gameIdParam, 'input') };
const queryParameters = (s: z.ZodObject) =>
  Object.entries((schema(s, 'input').properties ?? {}) as Record<string, Json>).map(([name, prop]) => ({ name, in: 'query', required: false, schema: prop }));

const COMMON_ERRORS = {
  '400': errorResponse('invalid game id, body or query (code start_config_invalid, naming the fields)'),
  '401': errorResponse('missing or wrong bearer token'),
  '503': errorResponse('Redis (the queue) does not answer'),
};

function lifecyclePaths(kind: 'start' | 'stop' | 'restart' | 'patch'): Json {
  const body = kind === 'start' || kind === 'patch' ? (kind === 'start' ? startBody : patchBody) : emptyBody;
  return {
    post: {
      operationId: `${kind}Runtime`,
      summary: `Enqueue a ${kind} of the game's runtime (job id = game id)`,
      tags: ['lifecycle'],
      parameters: [gameIdParameter, ...queryParameters(waitQuery)],
      requestBody: { required: kind === 'start' || kind === 'patch', content: { 'application/json': { schema: schema(body, 'input') } } },
      responses: {
        '202': json('accepted: the job that carries this request (a pending job with the same request is joined)', enqueueResponse),
        '200': json('with ?wait=N: the job finished in time; the body carries its result', enqueueResponse),
        // Two pending stops (or restarts) are the same request: only an image can clash.
        ...(kind === 'start' || kind === 'patch' ? { '409': errorResponse(`a ${kind} with another image is already pending (code conflict)`) } : {}),
        '413': errorResponse('body too large'),
        ...COMMON_ERRORS,
        '503': errorResponse('Redis (the queue) does not answer, or too many requests already hold ?wait (nothing was enqueued)'),
      },
    },
    get: {
      operationId: `poll${kind[0]!.toUpperCase()}${kind.slice(1)}`,
      summary: `The game's latest ${kind} job (from the operation log once the job is gone)`,
      tags: ['lifecycle'],
      parameters: [gameIdParameter],
      responses: { '200': json('the job', pollResponse), '404': errorResponse('no such job'), ...COMMON_ERRORS },
    },
  };
}

export function buildOpenApi(): Json {
  const paths = buildPaths();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Galaxy Runtime Manager',
      version: '1.0.0',
      description: 'Owns the lifecycle of one Docker container per game. Lifecycle calls enqueue a job keyed by game id; poll it for the Result.',
    },
    components: {
      schemas: { ...components },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

/** In the order the document lists them: the lifecycle calls, the reads, then the open routes. */
function buildPaths(): Json {
  return { ...lifecyclePathItems(), ...recordPathItems(), ...windowPathItems(), ...opsPathItems() };
}

function lifecyclePathItems(): Json {
  return {
    '/api/v1/internal/runtimes/{game_id}/start': lifecyclePaths('start'),
    '/api/v1/internal/runtimes/{game_id}/stop': lifecyclePaths('stop'),
    '/api/v1/internal/runtimes/{game_id}/restart': lifecyclePaths('restart'),
    '/api/v1/internal/runtimes/{game_id}/patch': lifecyclePaths('patch'),
  };
}

/** The reads of routes/records.ts. */
function recordPathItems(): Json {
  return {
    '/api/v1/internal/runtimes/{game_id}': {
      get: {
        operationId: 'getRuntime',
        summary: "The game's runtime record",
        tags: ['records'],
        parameters: [gameIdParameter],
        responses: { '200': json('the record', recordJson), '404': errorResponse('no record'), ...COMMON_ERRORS },
      },
    },
    '/api/v1/internal/runtimes': {
      get: {
        operationId: 'listRuntimes',
        summary: 'Runtime records, by game id, paged',
        tags: ['records'],
        parameters: queryParameters(listQuery),
        responses: { '200': json('a page', z.object({ records: z.array(recordJson), next_cursor: z.string().nullable() })), ...COMMON_ERRORS },
      },
    },
    '/api/v1/internal/runtimes/{game_id}/operations': {
      get: {
        operationId: 'listOperations',
        summary: "The game's operation log, newest first",
        tags: ['records'],
        parameters: [gameIdParameter, ...queryParameters(operationsQuery)],
        responses: { '200': json('operations', z.object({ operations: z.array(operationJson) })), ...COMMON_ERRORS },
      },
    },
  };
}

/** Contract §16, the operator's window: routes/stats.ts and routes/events.ts. */
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

/** What is open without a token: health, readiness, metrics, this document, and Bull Board (its own basic auth). */
function opsPathItems(): Json {
  return {
    '/healthz': { get: { operationId: 'healthz', summary: 'Liveness', security: [], tags: ['ops'], responses: { '200': { description: 'alive' } } } },
    '/readyz': {
      get: {
        operationId: 'readyz',
        summary: 'Readiness: Redis, Postgres and Docker answer (in `all` mode also: the BullMQ workers run, the stream intake listens)',
        security: [],
        tags: ['ops'],
        responses: { '200': { description: 'ready' }, '503': { description: 'names the dependency that does not answer' } },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        security: [],
        tags: ['ops'],
        responses: { '200': { description: 'Prometheus text', content: { 'text/plain': {} } } },
      },
    },
    '/openapi.json': {
      get: { operationId: 'openapi', summary: 'This document', security: [], tags: ['ops'], responses: { '200': { description: 'OpenAPI 3.1' } } },
    },
    '/docs': { get: { operationId: 'docs', summary: 'This document as a page', security: [], tags: ['ops'], responses: { '200': { description: 'HTML' } } } },
    '/admin/queues': {
      get: {
        operationId: 'bullBoard',
        summary: 'Bull Board dashboard',
        security: [{ basic: [] }],
        tags: ['ops'],
        responses: { '200': { description: 'HTML' }, '401': { description: 'basic auth required' } },
      },
    },
    ...gamesPagePathItems(),
  };
}

/** The games pages beside the board (games-pages.ts): HTML and the reads of their own script, behind the board's basic auth, read-only. */
function gamesPagePathItems(): Json {
  const page = (operationId: string, summary: string, parameters: Json[], responses: Json) => ({
    get: {
      operationId,
      summary,
      security: [{ basic: [] }],
      tags: ['ops'],
      parameters,
      responses: { ...responses, '401': { description: 'basic auth required' } },
    },
  });
  const sameOrigin = { '403': { description: 'asked from another origin or site: only the page itself reads this' } };
  return {
    '/admin/games': page(
      'gamesPage',
      'Every game: status, health, image and digest, effective limits, started at, restart count; 100 a page',
      [
        { name: 'status', in: 'query', required: false, schema: { enum: ['running', 'stopped', 'exited', 'removed'] } },
        { name: 'after', in: 'query', required: false, schema: { type: 'string', description: "the next page's cursor, as its link gives it" } },
      ],
      { '200': { description: 'HTML' } },
    ),
    '/admin/games/{game_id}': page('gamePage', 'One game: its record, last operations, a stats reading and a live tail of its log', [gameIdParameter], {
      '200': { description: 'HTML' },
      '404': { description: 'HTML: no record' },
    }),
    '/admin/games/{game_id}/stats': page(
      'gamePageStats',
      "The game page's stats reading: what GET /api/v1/internal/runtimes/{game_id}/stats answers",
      [gameIdParameter],
      { '200': { description: 'one reading' }, ...sameOrigin },
    ),
    '/admin/games/{game_id}/logs': page(
      'gamePageLogs',
      "The game page's log tail: what GET /api/v1/internal/runtimes/{game_id}/logs answers, with the same query",
      [gameIdParameter],
      { '200': { description: 'NDJSON, or SSE with Accept: text/event-stream' }, ...sameOrigin },
    ),
  };
}
