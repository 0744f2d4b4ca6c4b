/**
 * The lifecycle calls: POST enqueues a start, stop, restart or patch (and
 * with `?wait=N` waits for its Result); GET polls the game's latest job of
 * that kind. Handlers are thin: parse with zod, enqueue or read, answer
 * through the one status table.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { OpSource } from '../../domain/model.js';
import type { EnqueueOutcome } from '../../jobs/enqueue.js';
import type { LifecycleKind } from '../../jobs/queues.js';
import type { AppDeps, Env } from '../app.js';
import { ANSWERS, fail, invalid, answerWithin } from '../answers.js';
import { readBodyText } from '../body.js';
import { emptyBody, gameIdParam, startBody, waitQuery } from '../schemas.js';
import { errorMessage } from '../../domain/errors.js';

/** After this the request answers 503: nothing or one job was added, and a retry joins it. */
const ENQUEUE_TIMEOUT_MS = 8_000;

/** The routes, mounted under `base`; the poll URLs they answer with point under it too. */
export function lifecycleRoutes(deps: Pick<AppDeps, 'enqueuer' | 'jobs' | 'bodyLimitBytes' | 'enqueueTimeoutMs' | 'maxWaiters'>, base: string): Hono<Env> {
  const app = new Hono<Env>();
  const queueTimeoutMs = deps.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS;
  // Each `?wait` holds a socket, a queue-events listener and a timer for up to
  // a minute: bounded, and decided before anything is enqueued, so a refused
  // request changes nothing.
  let waiting = 0;

  for (const kind of ['start', 'stop', 'restart', 'patch'] as const) {
    app.post(`/runtimes/:game_id/${kind}`, async (c) => {
      const gameId = gameIdParam.safeParse(c.req.param('game_id'));
      if (!gameId.success) return invalid(c, 'game_id', gameId.error);
      const query = waitQuery.safeParse(c.req.query());
      if (!query.success) return invalid(c, 'query', query.error);
      const waits = Boolean(query.data.wait);
      if (waits && waiting >= deps.maxWaiters) {
        c.header('Retry-After', '1');
        return fail(
          c,
          'unavailable',
          `${deps.maxWaiters} requests already hold ?wait (RTMANAGER_HTTP_MAX_WAITERS); nothing was enqueued: retry, or poll instead`,
        );
      }
      if (waits) waiting++;
      try {
        return await enqueueAndAnswer(c, kind, gameId.data, query.data.wait);
      } finally {
        if (waits) waiting--;
      }
    });

    app.get(`/runtimes/:game_id/${kind}`, async (c) => {
      const gameId = gameIdParam.safeParse(c.req.param('game_id'));
      if (!gameId.success) return invalid(c, 'game_id', gameId.error);
      // BullMQ's connection retries forever while Redis is down: bound the wait (→ 503).
      const poll = await answerWithin(deps.jobs.poll(kind, gameId.data), queueTimeoutMs);
      if (!poll) return fail(c, 'not_found', `no ${kind} job for game ${gameId.data}`);
      return c.json(poll, ANSWERS.found.status);
    });
  }

  async function enqueueAndAnswer(c: Context<Env>, kind: LifecycleKind, gameId: string, wait: number | undefined): Promise<Response> {
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
      outcome = await answerWithin(deps.enqueuer.enqueue(kind, payload), queueTimeoutMs);
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

  return app;
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

function opSourceOf(c: Context): OpSource {
  return c.req.header('x-op-source') === 'admin_rest' ? 'admin_rest' : 'gm_rest';
}
