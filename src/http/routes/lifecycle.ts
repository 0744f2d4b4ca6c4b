/**
 * The lifecycle calls: POST enqueues a start, stop, restart or patch (and
 * with `?wait=N` waits for its Result); GET polls the game's latest job of
 * that kind. Handlers are thin: parse with zod, enqueue or read, answer
 * through the one status table.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { RequestOpSource } from '../../domain/model.js';
import type { Enqueuer, EnqueueOutcome } from '../../jobs/enqueue.js';
import type { JobStatus } from '../../jobs/job-status.js';
import type { LifecycleKind } from '../../jobs/queues.js';
import type { Env } from '../env.js';
import { ANSWERS, fail, invalid, answerWithin } from '../answers.js';
import { readBodyText } from '../body.js';
import { emptyBody, gameIdParam, startBody, waitQuery } from '../schemas.js';
import { errorMessage } from '../../domain/errors.js';

/** After this the request answers 503: nothing or one job was added, and a retry joins it. */
const ENQUEUE_TIMEOUT_MS = 8_000;

export interface LifecycleRouteDeps {
  enqueuer: Enqueuer;
  /** Where a lifecycle job stands, and its Result (src/jobs/job-status.ts). */
  jobs: JobStatus;
  bodyLimitBytes: number;
  /** Requests that may hold `?wait` at once (RTMANAGER_HTTP_MAX_WAITERS); beyond, 503 before anything is enqueued. */
  maxWaiters: number;
  /** How long a request waits for the queue (enqueue or poll) before answering 503 [8000]. */
  enqueueTimeoutMs?: number;
}

/**
 * Each `?wait` holds a socket, a queue-events listener and a timer for up to
 * a minute: bounded, and decided before anything is enqueued, so a refused
 * request changes nothing. One count per app, shared by its four kinds.
 */
interface Waiters {
  held: number;
  readonly max: number;
}

/** The routes, mounted under `base`; the poll URLs they answer with point under it too. */
export function lifecycleRoutes(deps: LifecycleRouteDeps, base: string): Hono<Env> {
  const app = new Hono<Env>();
  const waiters: Waiters = { held: 0, max: deps.maxWaiters };
  for (const kind of ['start', 'stop', 'restart', 'patch'] as const) {
    app.post(`/runtimes/:game_id/${kind}`, (c) => enqueueRoute(c, kind, deps, base, waiters));
    app.get(`/runtimes/:game_id/${kind}`, (c) => pollRoute(c, kind, deps));
  }
  return app;
}

/** POST: enqueue the request, and with `?wait=N` (a waiter's place permitting) wait for its Result. */
async function enqueueRoute(c: Context<Env>, kind: LifecycleKind, deps: LifecycleRouteDeps, base: string, waiters: Waiters): Promise<Response> {
  const gameId = gameIdParam.safeParse(c.req.param('game_id'));
  if (!gameId.success) return invalid(c, 'game_id', gameId.error);
  const query = waitQuery.safeParse(c.req.query());
  if (!query.success) return invalid(c, 'query', query.error);
  const waits = Boolean(query.data.wait);
  if (waits && waiters.held >= waiters.max) {
    c.header('Retry-After', '1');
    return fail(c, 'unavailable', `${waiters.max} requests already hold ?wait (RTMANAGER_HTTP_MAX_WAITERS); nothing was enqueued: retry, or poll instead`);
  }
  if (waits) waiters.held++;
  try {
    return await enqueueAndAnswer(c, kind, deps, base, gameId.data, query.data.wait);
  } finally {
    if (waits) waiters.held--;
  }
}

/** GET: the game's latest job of this kind. */
async function pollRoute(c: Context<Env>, kind: LifecycleKind, deps: LifecycleRouteDeps): Promise<Response> {
  const gameId = gameIdParam.safeParse(c.req.param('game_id'));
  if (!gameId.success) return invalid(c, 'game_id', gameId.error);
  // BullMQ's connection retries forever while Redis is down: bound the wait (→ 503).
  const poll = await answerWithin(deps.jobs.poll(kind, gameId.data), deps.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS);
  if (!poll) return fail(c, 'not_found', `no ${kind} job for game ${gameId.data}`);
  return c.json(poll, ANSWERS.found.status);
}

async function enqueueAndAnswer(
  c: Context<Env>,
  kind: LifecycleKind,
  deps: LifecycleRouteDeps,
  base: string,
  gameId: string,
  wait: number | undefined,
): Promise<Response> {
  const body = await readBody(c, kind === 'start' || kind === 'patch' ? startBody : emptyBody, deps.bodyLimitBytes);
  if (!body.ok) return body.response;
  const parsed = body.value as { image_ref?: string; source_ref?: string };

  const payload = {
    gameId,
    opSource: opSourceOf(c),
    sourceRef: parsed.source_ref ?? `http:${c.get('requestId')}`,
    requestId: c.get('requestId'),
    ...(parsed.image_ref !== undefined ? { imageRef: parsed.image_ref } : {}),
  };
  let outcome: EnqueueOutcome;
  try {
    outcome = await answerWithin(deps.enqueuer.enqueue(kind, payload), deps.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS);
  } catch (error) {
    return fail(c, 'unavailable', `queue unavailable: ${errorMessage(error)}; retrying is safe (a pending job is joined)`);
  }
  if (outcome.kind === 'conflict') {
    return fail(c, 'conflict', `a ${kind} with image_ref ${JSON.stringify(outcome.pendingImageRef)} is already pending for game ${gameId}`);
  }
  const pollUrl = `${base}/runtimes/${gameId}/${kind}`;
  // A duplicate is a stream entry's answer: HTTP asks for no deduplication, so it never sees one.
  const state = outcome.kind === 'duplicate' ? 'waiting' : outcome.state;
  const accepted = { job_id: outcome.jobId, game_id: gameId, state, poll_url: pollUrl };
  if (wait && outcome.kind !== 'duplicate') {
    const result = await deps.jobs.waitFor(kind, outcome.jobId, outcome.seq, wait * 1000);
    if (result) return c.json({ ...accepted, state: result.outcome === 'success' ? 'completed' : 'failed', result }, ANSWERS.finished.status);
  }
  // A duplicate rides an operation accepted before, as a joined request does.
  return c.json(accepted, ANSWERS[outcome.kind === 'duplicate' ? 'joined' : outcome.kind].status);
}

async function readBody(
  c: Context,
  schema: typeof startBody | typeof emptyBody,
  limit: number,
): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
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

function opSourceOf(c: Context): RequestOpSource {
  return c.req.header('x-op-source') === 'admin_rest' ? 'admin_rest' : 'gm_rest';
}
