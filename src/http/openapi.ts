/**
 * OpenAPI 3.1, generated from the same zod schemas the handlers parse with
 * (JSON Schema 2020-12 is OpenAPI 3.1's dialect). `/docs` renders it
 * (docs-page.ts).
 */
import { z } from 'zod';
import { emptyBody, enqueueResponse, listQuery, operationJson, operationsQuery, patchBody, pollResponse, recordJson, startBody, waitQuery } from './schemas.js';

import type { Json } from './openapi-parts.js';
import { COMMON_ERRORS, components, errorResponse, gameIdParameter, json, queryParameters, schema } from './openapi-parts.js';
import { logPathItems, windowPathItems } from './openapi-window.js';

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
  return { ...lifecyclePathItems(), ...recordPathItems(), ...windowPathItems(), ...logPathItems(), ...opsPathItems() };
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
