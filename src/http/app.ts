/**
 * The HTTP API of contract §5. Handlers are thin: parse with zod, enqueue or
 * read, and map the outcome to a status through one table (`STATUS`).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import type { OpSource } from '../domain/model.js';
import type { Logger, OperationLog, RuntimeRecordStore } from '../domain/ports.js';
import type { EnqueueOutcome, Enqueuer } from '../jobs/enqueue.js';
import type { JobStatus } from '../jobs/job-status.js';
import { operationToJson, recordToJson } from '../jobs/json.js';
import { renderDocs } from './docs-page.js';
import { readBodyText } from './body.js';
import { buildOpenApi } from './openapi.js';
import type { HttpErrorCode } from './schemas.js';
import { emptyBody, gameIdParam, listQuery, operationsQuery, startBody, waitQuery } from './schemas.js';

export interface AppDeps {
  enqueuer: Enqueuer;
  /** Where a lifecycle job stands, and its Result (src/jobs/job-status.ts). */
  jobs: JobStatus;
  records: RuntimeRecordStore;
  operations: OperationLog;
  readiness: Record<'redis' | 'postgres' | 'docker', () => Promise<void>>;
  metricsText: () => Promise<string>;
  auth: { disabled: boolean; apiToken: string; adminUser: string; adminPassword: string };
  bodyLimitBytes: number;
  /** How long a request waits for the queue (enqueue or poll) before answering 503 [8000]. */
  enqueueTimeoutMs?: number;
  logger: Logger;
  bullBoard?: (app: Hono<Env>) => void;
}

type Env = { Variables: { requestId: string } };

/**
 * THE table: what happened → HTTP status, and for errors the `error.code`.
 * Contract codes where one fits (400 start_config_invalid, 409 conflict, 503
 * service_unavailable); HTTP-only codes otherwise.
 */
export const ANSWERS = {
  enqueued: { status: 202 },
  joined: { status: 202 },
  finished: { status: 200 },
  found: { status: 200 },
  invalid: { status: 400, code: 'start_config_invalid' },
  unauthorized: { status: 401, code: 'unauthorized' },
  not_found: { status: 404, code: 'not_found' },
  conflict: { status: 409, code: 'conflict' },
  payload_too_large: { status: 413, code: 'payload_too_large' },
  unavailable: { status: 503, code: 'service_unavailable' },
} as const satisfies Record<string, { status: number; code?: HttpErrorCode }>;

const FAILURES = ['invalid', 'unauthorized', 'not_found', 'conflict', 'payload_too_large', 'unavailable'] as const;
type Failure = (typeof FAILURES)[number];

/** After this the request answers 503: nothing or one job was added, and a retry joins it. */
const ENQUEUE_TIMEOUT_MS = 8_000;

const API = '/api/v1/internal';

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>({ strict: false });

  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    const began = performance.now();
    await next();
    deps.logger.info(
      { request_id: requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - began) },
      'http request',
    );
  });

  app.onError((error, c) => {
    // Middleware (basic auth) answers through HTTPException: keep its status and
    // headers (WWW-Authenticate), but in our error shape.
    if (error instanceof HTTPException) return httpExceptionToJson(error);
    deps.logger.error({ request_id: c.get('requestId'), err: error.message }, 'http handler failed');
    return fail(c, 'unavailable', error.message);
  });
  app.notFound((c) => fail(c, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ status: 'ok' }, ANSWERS.found.status));

  app.get('/readyz', async (c) => {
    const names = ['redis', 'postgres', 'docker'] as const;
    const results = await Promise.all(names.map((name) => withTimeout(deps.readiness[name](), 2_000).then(() => 'ok', (e: unknown) => (e instanceof Error ? e.message : String(e)))));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const failing = names.filter((_, i) => results[i] !== 'ok');
    if (failing.length === 0) return c.json({ status: 'ready', checks }, ANSWERS.found.status);
    const { status, code } = ANSWERS.unavailable;
    return c.json({ status: 'not_ready', checks, error: { code, message: `${failing.join(', ')} not ready: ${failing.map((n) => checks[n]).join('; ')}` } }, status);
  });

  app.get('/metrics', async (c) => c.text(await deps.metricsText(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));

  const openApi = buildOpenApi();
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(renderDocs(openApi)));

  const bearerMatches = bearerMatcher(deps.auth.apiToken);
  app.use(`${API}/*`, async (c, next) => {
    if (!deps.auth.disabled && !bearerMatches(c.req.header('authorization'))) {
      c.header('WWW-Authenticate', 'Bearer');
      return fail(c, 'unauthorized', 'a valid bearer token is required');
    }
    await next();
  });

  for (const kind of ['start', 'stop', 'restart', 'patch'] as const) {
    app.post(`${API}/runtimes/:game_id/${kind}`, async (c) => {
      const gameId = gameIdParam.safeParse(c.req.param('game_id'));
      if (!gameId.success) return invalid(c, 'game_id', gameId.error);
      const query = waitQuery.safeParse(c.req.query());
      if (!query.success) return invalid(c, 'query', query.error);
      const body = await readBody(c, kind === 'start' || kind === 'patch' ? startBody : emptyBody, deps.bodyLimitBytes);
      if (!body.ok) return body.response;
      const parsed = body.value as { image_ref?: string; source_ref?: string };

      const payload = {
        gameId: gameId.data,
        opSource: opSourceOf(c),
        sourceRef: parsed.source_ref ?? `http:${c.get('requestId')}`,
        requestId: c.get('requestId'),
        ...(parsed.image_ref !== undefined ? { imageRef: parsed.image_ref } : {}),
      };
      let outcome: EnqueueOutcome;
      try {
        outcome = await withTimeout(deps.enqueuer.enqueue(kind, payload), deps.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS);
      } catch (error) {
        return fail(c, 'unavailable', `queue unavailable: ${error instanceof Error ? error.message : String(error)}; retrying is safe (a pending job is joined)`);
      }
      if (outcome.kind === 'conflict') {
        return fail(c, 'conflict', `a ${kind} with image_ref ${JSON.stringify(outcome.pendingImageRef)} is already pending for game ${gameId.data}`);
      }
      const pollUrl = `${API}/runtimes/${gameId.data}/${kind}`;
      const accepted = { job_id: outcome.jobId, game_id: gameId.data, state: outcome.state, poll_url: pollUrl };
      if (query.data.wait) {
        const result = await deps.jobs.waitFor(kind, outcome.jobId, query.data.wait * 1000);
        if (result) return c.json({ ...accepted, state: result.outcome === 'success' ? 'completed' : 'failed', result }, ANSWERS.finished.status);
      }
      return c.json(accepted, ANSWERS[outcome.kind].status);
    });

    app.get(`${API}/runtimes/:game_id/${kind}`, async (c) => {
      const gameId = gameIdParam.safeParse(c.req.param('game_id'));
      if (!gameId.success) return invalid(c, 'game_id', gameId.error);
      // BullMQ's connection retries forever while Redis is down: bound the wait (→ 503).
      const poll = await withTimeout(deps.jobs.poll(kind, gameId.data), deps.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS);
      if (!poll) return fail(c, 'not_found', `no ${kind} job for game ${gameId.data}`);
      return c.json(poll, ANSWERS.found.status);
    });
  }

  app.get(`${API}/runtimes/:game_id`, async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return invalid(c, 'game_id', gameId.error);
    const record = await deps.records.get(gameId.data);
    if (!record) return fail(c, 'not_found', `no runtime record for game ${gameId.data}`);
    return c.json(recordToJson(record), ANSWERS.found.status);
  });

  app.get(`${API}/runtimes`, async (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return invalid(c, 'query', query.error);
    const page = await deps.records.list({ limit: query.data.limit, cursor: query.data.cursor ?? null, ...(query.data.status ? { status: query.data.status } : {}) });
    return c.json({ records: page.records.map(recordToJson), next_cursor: page.nextCursor }, ANSWERS.found.status);
  });

  app.get(`${API}/runtimes/:game_id/operations`, async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return invalid(c, 'game_id', gameId.error);
    const query = operationsQuery.safeParse(c.req.query());
    if (!query.success) return invalid(c, 'query', query.error);
    const entries = await deps.operations.listByGame(gameId.data, query.data.limit);
    return c.json({ operations: entries.map(operationToJson) }, ANSWERS.found.status);
  });

  deps.bullBoard?.(app);
  return app;
}

function fail(c: { json: Context['json'] }, what: Failure, message: string) {
  const { status, code } = ANSWERS[what];
  return c.json({ error: { code, message } }, status);
}

function httpExceptionToJson(error: HTTPException): Response {
  const headers = new Headers(error.getResponse().headers);
  headers.set('content-type', 'application/json');
  const { code } = ANSWERS[FAILURES.find((f) => ANSWERS[f].status === error.status) ?? 'unavailable'];
  const message = error.status === 401 ? 'valid credentials are required' : error.message || `http ${error.status}`;
  return new Response(JSON.stringify({ error: { code, message } }), { status: error.status, headers });
}

/** 400 naming each field and why. */
function invalid(c: Context, where: string, error: z.ZodError) {
  const fields = error.issues.map((i) => `${i.path.length ? i.path.join('.') : where}: ${i.message}`);
  return fail(c, 'invalid', fields.join('; '));
}

async function readBody(c: Context, schema: typeof startBody | typeof emptyBody, limit: number): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const body = await readBodyText(c, limit);
  if (!body.ok) return { ok: false, response: fail(c, 'payload_too_large', `request body over ${limit} bytes`) };
  const text = body.text;
  let raw: unknown = {};
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, response: fail(c, 'invalid', 'body: must be a JSON object') };
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, response: invalid(c, 'body', parsed.error) };
  return { ok: true, value: parsed.data };
}

function opSourceOf(c: Context): OpSource {
  return c.req.header('x-op-source') === 'admin_rest' ? 'admin_rest' : 'gm_rest';
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Constant time: both sides hashed to equal length before comparing; the token's hash is taken once. */
function bearerMatcher(token: string): (header: string | undefined) => boolean {
  const expected = sha256(token);
  return (header) => {
    const match = /^Bearer (.+)$/i.exec(header ?? '');
    return timingSafeEqual(sha256(match?.[1] ?? ''), expected) && match !== null && token !== '';
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
