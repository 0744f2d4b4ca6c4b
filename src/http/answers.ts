/**
 * THE table from what happened to an HTTP status (and, for errors, the
 * `error.code`), and the one way an error answer is written: every route
 * module answers through here, so a status has one source.
 */
import type { Context } from 'hono';
import type { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import type { HttpErrorCode } from './schemas.js';

/**
 * Contract codes where one fits (400 start_config_invalid, 409 conflict, 503
 * service_unavailable); HTTP-only codes otherwise.
 */
export const ANSWERS = {
  enqueued: { status: 202 },
  joined: { status: 202 },
  deferred: { status: 202 },
  finished: { status: 200 },
  found: { status: 200 },
  invalid: { status: 400, code: 'start_config_invalid' },
  unauthorized: { status: 401, code: 'unauthorized' },
  forbidden: { status: 403, code: 'forbidden' },
  not_found: { status: 404, code: 'not_found' },
  conflict: { status: 409, code: 'conflict' },
  payload_too_large: { status: 413, code: 'payload_too_large' },
  unavailable: { status: 503, code: 'service_unavailable' },
} as const satisfies Record<string, { status: number; code?: HttpErrorCode }>;

const FAILURES = ['invalid', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'payload_too_large', 'unavailable'] as const;
type Failure = (typeof FAILURES)[number];

export function fail(c: { json: Context['json'] }, what: Failure, message: string) {
  const { status, code } = ANSWERS[what];
  return c.json({ error: { code, message } }, status);
}

/** 400 naming each field and why. */
export function invalid(c: Context, where: string, error: z.ZodError) {
  const fields = error.issues.map((i) => `${i.path.length ? i.path.join('.') : where}: ${i.message}`);
  return fail(c, 'invalid', fields.join('; '));
}

/**
 * Middleware (basic auth) answers through HTTPException: keep its status and
 * headers (WWW-Authenticate), but in our error shape.
 */
export function httpExceptionToJson(error: HTTPException): Response {
  const headers = new Headers(error.getResponse().headers);
  headers.set('content-type', 'application/json');
  const { code } = ANSWERS[FAILURES.find((f) => ANSWERS[f].status === error.status) ?? 'unavailable'];
  const message = error.status === 401 ? 'valid credentials are required' : error.message || `http ${error.status}`;
  return new Response(JSON.stringify({ error: { code, message } }), { status: error.status, headers });
}

/**
 * Rejects with "no answer within N ms" (the 503's message) when `promise`
 * takes longer, give or take DEADLINE_TICK_MS. Every request of the enqueue
 * path asks for one, and a timer each (set, then cleared) was about 4 % of
 * the web's CPU a request: one shared ticker looks at the pending deadlines
 * instead, and runs only while there are any.
 */
export function answerWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const deadline: Deadline = { at: Date.now() + ms, expire: () => reject(new Error(`no answer within ${ms} ms`)) };
    pending.add(deadline);
    ticker ??= setInterval(expireDeadlines, DEADLINE_TICK_MS);
    promise.then(
      (value) => {
        pending.delete(deadline);
        resolve(value);
      },
      (error: unknown) => {
        pending.delete(deadline);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** How late past its deadline an answer may be given up on. */
export const DEADLINE_TICK_MS = 50;

interface Deadline {
  at: number;
  expire(): void;
}

const pending = new Set<Deadline>();
let ticker: ReturnType<typeof setInterval> | undefined;

function expireDeadlines(): void {
  // Date, not performance: tests that fake the clock fake Date and the ticker together.
  const now = Date.now();
  for (const deadline of pending) {
    if (deadline.at > now) continue;
    pending.delete(deadline);
    deadline.expire();
  }
  if (pending.size === 0) {
    clearInterval(ticker);
    ticker = undefined;
  }
}
