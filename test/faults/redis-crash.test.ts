/**
 * Redis SIGKILLed (AOF, fsync always) during enqueue load: every request
 * answered 202 is executed exactly once, and every other answer is an honest
 * refusal (a 503 service_unavailable, or the connection named below).
 */
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from './support.js';
import { faultSystem, privateRedis, until } from './support.js';

let system: FaultSystem | undefined;
let redis: Awaited<ReturnType<typeof privateRedis>> | undefined;
afterAll(async () => {
  await system?.cleanup();
  await redis?.stop();
});

/**
 * The only failures of the request itself that count as refused: the web
 * closing a kept-alive connection as the request went out on it (Node's
 * keep-alive race; undici says UND_ERR_SOCKET or ECONNRESET). Anything else
 * — a refused connection (the web died), a timeout — is the test's failure.
 */
const REFUSING_CONNECTION_ERRORS = ['UND_ERR_SOCKET', 'ECONNRESET'];

/** What a start request came to: accepted, or refused in one of the ways the test allows. */
type Answer = { accepted: true } | { accepted: false; refusal: string };

async function answerOf(send: () => Promise<Response>): Promise<Answer> {
  let res: Response;
  try {
    res = await send();
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (error instanceof TypeError && code !== undefined && REFUSING_CONNECTION_ERRORS.includes(code)) return { accepted: false, refusal: code };
    throw error;
  }
  if (res.status === 202) {
    await res.body?.cancel();
    return { accepted: true };
  }
  const text = await res.text();
  const code = res.status === 503 ? errorCodeOf(text) : undefined;
  if (code !== 'service_unavailable') throw new Error(`a start answered ${res.status} ${text}: neither accepted nor an honest refusal`);
  return { accepted: false, refusal: '503 service_unavailable' };
}

function errorCodeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined; // not JSON: no error code, and the caller says what came
    throw error;
  }
}

/** Contract §4: an attempt that ended with one of these is retried; any other ends the operation. */
const RETRIED = new Set(['service_unavailable', 'internal_error', 'conflict']);

describe('Redis crash during enqueue load', () => {
  it('executes every start it answered 202 exactly once, and refuses the others honestly', { timeout: 300_000 }, async () => {
    redis = await privateRedis();
    // Jobs that fail fast and leave an audit row: no container per request.
    system = await faultSystem({ redisUrl: redis.url, env: { RTMANAGER_DOCKER_PULL_POLICY: 'never', RTMANAGER_WORKER_CONCURRENCY: '50' } });
    const s = system;
    s.start('all');
    await s.waitReady();

    const accepted: string[] = [];
    const refused: string[] = [];
    let crashed = false;
    let sent = 0;
    const senders = Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; i < 60; i++) {
        const gameId = s.gameId(`r${lane}-${i}`);
        sent += 1;
        const answer = await answerOf(() => s.post(`/runtimes/${gameId}/start`, { image_ref: 'galaxy-test-engine:not-local' }));
        if (answer.accepted) accepted.push(gameId);
        else refused.push(answer.refusal);
        if (!crashed && accepted.length >= 80) {
          crashed = true;
          redis!.crash();
          setTimeout(() => void redis!.start(), 1_500);
        }
      }
    });
    await Promise.all(senders);
    expect(crashed).toBe(true);
    expect(accepted.length).toBeGreaterThan(80);
    expect(accepted.length + refused.length).toBe(sent);

    // Each accepted start ran to its end (one terminal audit row), and nothing is left to run again:
    // a job still queued or active could still add a second row.
    const queue = new Queue('start-runtime', { connection: s.redis, prefix: s.run });
    try {
      await until(
        async () => {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
          let unfinished = 0;
          for (const gameId of accepted) if (!(await s.operations.listByGame(gameId, 20, 'start')).some((row) => !RETRIED.has(row.errorCode))) unfinished += 1;
          return { unfinished, queued: Object.values(counts).reduce((a, b) => a + b, 0) };
        },
        (v) => v.unfinished === 0 && v.queued === 0,
        120_000,
        'every accepted start executed, the queue drained',
      );
    } finally {
      await queue.close();
    }
    let retried = 0;
    const notOnce: Array<{ gameId: string; rows: string[] }> = [];
    for (const gameId of accepted) {
      const rows = await s.operations.listByGame(gameId, 20, 'start');
      if (rows.some((row) => RETRIED.has(row.errorCode))) retried += 1;
      // Exactly once: one terminal row, what pull policy `never` makes of an image not here.
      const terminal = rows.filter((row) => !RETRIED.has(row.errorCode));
      if (terminal.length !== 1 || terminal[0]!.outcome !== 'failure' || terminal[0]!.errorCode !== 'image_pull_failed') {
        notOnce.push({
          gameId,
          rows: rows.reverse().map((r) => `${r.outcome}/${r.errorCode} ${r.startedAt.toISOString()}→${r.finishedAt.toISOString()} ${r.sourceRef}`),
        });
      }
    }
    const tally = [...new Set(refused)].map((kind) => `${kind} × ${refused.filter((r) => r === kind).length}`);
    console.log(
      `redis crash: ${sent} sent, ${accepted.length} accepted (${accepted.length - notOnce.length} executed exactly once; ${retried} after a retried attempt), ` +
        `${refused.length} refused during the outage (${tally.join(', ') || 'none'})`,
    );
    expect(notOnce, `${notOnce.length} of ${accepted.length} accepted starts did not end in exactly one terminal audit row`).toEqual([]);
  });
});
