/**
 * OpenAPI 3.1, generated from the same zod schemas the handlers parse with
 * (JSON Schema 2020-12 is OpenAPI 3.1's dialect), and a server-rendered page
 * for `/docs`: no CDN is reachable from where this runs.
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

type Json = Record<string, unknown>;

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
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
        '409': errorResponse(`a ${kind} with another image is already pending (code conflict)`),
        '413': errorResponse('body too large'),
        ...COMMON_ERRORS,
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
  return {
    openapi: '3.1.0',
    info: {
      title: 'Galaxy Runtime Manager',
      version: '1.0.0',
      description: 'Owns the lifecycle of one Docker container per game. Lifecycle calls enqueue a job keyed by game id; poll it for the Result.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
    },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/internal/runtimes/{game_id}/start': lifecyclePaths('start'),
      '/api/v1/internal/runtimes/{game_id}/stop': lifecyclePaths('stop'),
      '/api/v1/internal/runtimes/{game_id}/restart': lifecyclePaths('restart'),
      '/api/v1/internal/runtimes/{game_id}/patch': lifecyclePaths('patch'),
      '/api/v1/internal/runtimes/{game_id}': {
        get: { operationId: 'getRuntime', summary: "The game's runtime record", tags: ['records'], parameters: [gameIdParameter], responses: { '200': json('the record', recordJson), '404': errorResponse('no record'), ...COMMON_ERRORS } },
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
      '/healthz': { get: { operationId: 'healthz', summary: 'Liveness', security: [], tags: ['ops'], responses: { '200': { description: 'alive' } } } },
      '/readyz': {
        get: { operationId: 'readyz', summary: 'Readiness: Redis, Postgres and Docker answer', security: [], tags: ['ops'], responses: { '200': { description: 'ready' }, '503': { description: 'names the dependency that does not answer' } } },
      },
      '/metrics': { get: { operationId: 'metrics', summary: 'Prometheus metrics', security: [], tags: ['ops'], responses: { '200': { description: 'Prometheus text', content: { 'text/plain': {} } } } } },
      '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', security: [], tags: ['ops'], responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/docs': { get: { operationId: 'docs', summary: 'This document as a page', security: [], tags: ['ops'], responses: { '200': { description: 'HTML' } } } },
      '/admin/queues': { get: { operationId: 'bullBoard', summary: 'Bull Board dashboard', security: [{ basic: [] }], tags: ['ops'], responses: { '200': { description: 'HTML' }, '401': { description: 'basic auth required' } } } },
    },
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function renderDocs(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const sections = Object.entries(paths)
    .map(([path, methods]) =>
      Object.entries(methods)
        .map(([method, op]) => {
          const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
            .map(([code, r]) => `<li><code>${escape(code)}</code> ${escape(typeof r.description === 'string' ? r.description : '')}</li>`)
            .join('');
          const body = (op.requestBody as Json | undefined)?.content as Record<string, { schema: Json }> | undefined;
          const bodySchema = body ? `<details><summary>request body</summary><pre>${escape(JSON.stringify(body['application/json']?.schema, null, 2))}</pre></details>` : '';
          return `<section><h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3><p>${escape(typeof op.summary === 'string' ? op.summary : '')}</p>${bodySchema}<ul>${responses}</ul></section>`;
        })
        .join(''),
    )
    .join('');
  const info = doc.info as Json;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(String(info.title))} API</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}section{border-top:1px solid #ddd;padding:.5em 0}.m{background:#234;color:#fff;padding:2px 6px;border-radius:3px;font-size:.8em}pre{background:#f6f6f6;padding:.5em;overflow:auto}</style>
</head><body><h1>${escape(String(info.title))} <small>${escape(String(info.version))}</small></h1><p>${escape(String(info.description))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escape(String(doc.openapi))}).</p>${sections}</body></html>`;
}
