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
  logDroppedJson,
  logEndJson,
  logLineJson,
  logsQuery,
  operationJson,
  operationsQuery,
  patchBody,
  pollResponse,
  recordJson,
  startBody,
  waitQuery,
} from './schemas.js';

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
  return { ...lifecyclePathItems(), ...recordPathItems(), ...logPathItems(), ...opsPathItems() };
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

/** Contract §16's logs (routes/logs.ts): a stream, in NDJSON or as Server-Sent Events. */
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
  };
}
