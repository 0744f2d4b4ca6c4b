import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnqueueOutcome } from '../../src/jobs/enqueue.js';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import { EnqueueBusyError } from '../../src/jobs/order-admission.js';
import type { QueueName, StartPayload } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { RecordingLogger } from '../fakes/support.js';
import { testRedisUrl } from '../support/services.js';
import { testQueues } from '../support/test-queues.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A promise the test settles by hand (Promise.withResolvers is Node 22+). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function harness(over: { mutexTtlMs?: number; holdFirstRead?: boolean } = {}) {
  const { prefix, connection, redis, queues, close } = testQueues();
  // Optionally the first read of a job is held, under the mutex, until the test lets it answer
  // with what it saw when it was asked: a stalled enqueuer whose stall the test ends, not a timer.
  const firstRead = deferred();
  const letFirstReadAnswer = deferred();
  let held = over.holdFirstRead ?? false;
  const seen = held
    ? ({
        ...queues,
        'start-runtime': new Proxy(queues['start-runtime'], {
          get(target, key, receiver) {
            if (key !== 'getJob') return Reflect.get(target, key, receiver) as unknown;
            return async (id: string) => {
              const job = await target.getJob(id);
              if (held) {
                held = false;
                firstRead.resolve();
                await letFirstReadAnswer.promise;
              }
              return job;
            };
          },
        }),
      } as Record<QueueName, Queue>)
    : queues;
  const enqueuer = createEnqueuer({
    queues: seen,
    redis,
    logger: new RecordingLogger(),
    attempts: 1,
    backoffMs: 10,
    mutexPrefix: `${prefix}:enqueue:`,
    ...(over.mutexTtlMs ? { mutexTtlMs: over.mutexTtlMs } : {}),
  });
  cleanups.push(close);
  const payload = (gameId: string, imageRef = 'img:1', sourceRef: string = randomUUID()): StartPayload => ({
    gameId,
    imageRef,
    opSource: 'gm_rest',
    sourceRef,
  });
  return { prefix, connection, queues, enqueuer, payload, firstRead: firstRead.promise, letFirstReadAnswer: () => letFirstReadAnswer.resolve() };
}

function worker(h: ReturnType<typeof harness>, processor: (job: Job<StartPayload>) => Promise<unknown>, concurrency = 4): Worker {
  const w = new Worker('start-runtime', processor, { connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }), prefix: h.prefix, concurrency });
  cleanups.push(() => w.close());
  return w;
}

describe('enqueue keyed by game id', () => {
  it('joins a pending start with the same image and refuses another image', async () => {
    const h = harness();
    const first = await h.enqueuer.enqueue('start', h.payload('g-1', 'img:1', 'first'));
    expect(first).toEqual({ kind: 'enqueued', jobId: 'g-1', seq: expect.any(Number), state: 'waiting', carrier: 'first' });
    // The same place in the game's order: the request rides the first one's operation.
    expect(await h.enqueuer.enqueue('start', h.payload('g-1', 'img:1', 'second'))).toEqual({
      kind: 'joined',
      jobId: 'g-1',
      seq: first.kind === 'enqueued' ? first.seq : -1,
      state: 'waiting',
      carrier: 'first',
    });
    expect(await h.enqueuer.enqueue('start', h.payload('g-1', 'img:2'))).toEqual({ kind: 'conflict', jobId: 'g-1', pendingImageRef: 'img:1' });
    expect(await h.queues['start-runtime'].getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('a finished start never blocks the next one of the same game', async () => {
    const h = harness();
    let runs = 0;
    const w = worker(h, () => Promise.resolve(++runs));
    await h.enqueuer.enqueue('start', h.payload('g-2'));
    await expect.poll(() => runs, { timeout: 15_000 }).toBe(1);
    await expect.poll(async () => (await h.queues['start-runtime'].getJob('g-2'))?.finishedOn, { timeout: 15_000 }).toBeDefined();
    expect(await h.enqueuer.enqueue('start', h.payload('g-2', 'img:other'))).toMatchObject({ kind: 'enqueued', jobId: 'g-2' });
    await expect.poll(() => runs, { timeout: 15_000 }).toBe(2);
    await w.close();
  });

  it('20 concurrent same-image requests while pending: one job, every caller told which', async () => {
    const h = harness();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => h.enqueuer.enqueue('start', h.payload('g-3'))));
    expect(outcomes.filter((o) => o.kind === 'enqueued')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'joined')).toHaveLength(19);
    expect(new Set(outcomes.map((o) => o.jobId))).toEqual(new Set(['g-3']));
    const creator = outcomes.find((o) => o.kind === 'enqueued');
    expect(new Set(outcomes.map((o) => ('carrier' in o ? o.carrier : null)))).toEqual(new Set([creator?.kind === 'enqueued' ? creator.carrier : 'none']));
  });

  it('loses no request: 4 concurrent callers × 200 rounds against a fast worker', async () => {
    const h = harness();
    // Which request each run carried: its sourceRef.
    const ran = new Set<string>();
    // A few milliseconds of work: long enough that callers meet pending jobs.
    worker(
      h,
      async (job) => {
        ran.add(job.data.sourceRef);
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 6));
        return true;
      },
      8,
    );
    const told: Array<{ sourceRef: string; outcome: EnqueueOutcome; at: number }> = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, caller) => {
        for (let round = 0; round < 200; round++) {
          const sourceRef = `c${caller}-r${round}`;
          const outcome = await h.enqueuer.enqueue('start', h.payload('g-4', 'img:1', sourceRef));
          told.push({ sourceRef, outcome, at: Date.now() });
        }
      }),
    );
    await expect.poll(() => h.queues['start-runtime'].getJobCounts('waiting', 'active'), { timeout: 15_000 }).toEqual({ waiting: 0, active: 0 });
    const enqueued = told.filter((t) => t.outcome.kind === 'enqueued').map((t) => t.sourceRef);
    // Both paths must have been exercised, or the test proves nothing.
    expect(enqueued.length).toBeGreaterThan(20);
    expect(told.length - enqueued.length).toBeGreaterThan(20);
    console.log(`enqueue race: ${enqueued.length} enqueued and ran, ${told.length - enqueued.length} joined a pending job`);
    // Every request that became a job ran, and only those ran.
    for (const ref of enqueued) expect(ran.has(ref), `enqueued ${ref} never ran`).toBe(true);
    expect(ran.size).toBe(enqueued.length);
    // Every other request was told which job carries it, and that job ran.
    for (const { sourceRef, outcome } of told) {
      if (!('carrier' in outcome)) throw new Error(`${sourceRef}: unexpected ${outcome.kind}`);
      expect(ran.has(outcome.carrier), `${sourceRef} rode on ${outcome.carrier}, which never ran`).toBe(true);
    }
    expect(told.filter((t) => t.outcome.kind === 'joined').length + enqueued.length).toBe(800);
  });

  it('an enqueuer stalled past half the mutex TTL changes nothing and says so; the caller who took over wins', async () => {
    const h = harness({ mutexTtlMs: 200, holdFirstRead: true });
    // A finished job holds the id, so an enqueue must read it (and here stalls) before it may write.
    const w = worker(h, () => Promise.resolve('done'));
    await h.enqueuer.enqueue('start', h.payload('g-7', 'img:1', 'first'));
    await expect.poll(() => h.queues['start-runtime'].getJobState('g-7'), { timeout: 5_000 }).toBe('completed');
    await w.close();
    const stalled = h.enqueuer.enqueue('start', h.payload('g-7', 'img:1', 'stalled'));
    // It holds the mutex and is stuck in its read: only now does the other caller come.
    await h.firstRead;
    // The stalled caller's mutex expires after 200 ms; this caller then frees the finished id and adds its job.
    const overtaking = await h.enqueuer.enqueue('start', h.payload('g-7', 'img:1', 'overtaking'));
    expect(overtaking).toEqual({ kind: 'enqueued', jobId: 'g-7', seq: expect.any(Number), state: 'waiting', carrier: 'overtaking' });
    // The stalled read answers only after the overtaking caller has written: it saw the finished job.
    h.letFirstReadAnswer();
    // Without the guard the stalled caller would "add" into the existing id, BullMQ would
    // ignore it silently, and the caller would believe its request was enqueued.
    await expect(stalled).rejects.toBeInstanceOf(EnqueueBusyError);
    const job = await h.queues['start-runtime'].getJob('g-7');
    expect(job?.data.sourceRef).toBe('overtaking');
    // Retrying is safe: it joins.
    expect(await h.enqueuer.enqueue('start', h.payload('g-7', 'img:1', 'stalled'))).toMatchObject({ kind: 'joined', carrier: 'overtaking' });
  });

  it('patch compares images; stop and restart requests join a pending one of their kind; kinds do not collide', async () => {
    const h = harness();
    const stop = { gameId: 'g-5', opSource: 'gm_rest' as const, sourceRef: 'x' };
    expect(await h.enqueuer.enqueue('stop', stop)).toMatchObject({ kind: 'enqueued', jobId: 'g-5' });
    expect(await h.enqueuer.enqueue('stop', stop)).toMatchObject({ kind: 'joined' });
    expect(await h.enqueuer.enqueue('restart', stop)).toMatchObject({ kind: 'enqueued' });
    expect(await h.enqueuer.enqueue('start', h.payload('g-5'))).toMatchObject({ kind: 'enqueued' });
    const patch = { gameId: 'g-5', imageRef: 'img:2', opSource: 'admin_rest' as const, sourceRef: 'p' };
    expect(await h.enqueuer.enqueue('patch', patch)).toMatchObject({ kind: 'enqueued' });
    expect(await h.enqueuer.enqueue('patch', { ...patch, sourceRef: 'p2' })).toMatchObject({ kind: 'joined', carrier: 'p' });
    expect(await h.enqueuer.enqueue('patch', { ...patch, imageRef: 'img:3' })).toEqual({ kind: 'conflict', jobId: 'g-5', pendingImageRef: 'img:2' });
  });

  it('fails loudly, never silently, when Redis is unreachable', async () => {
    const connection = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    const redis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    connection.on('error', () => undefined);
    redis.on('error', () => undefined);
    const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection })])) as Record<QueueName, Queue>;
    queues['start-runtime'].on('error', () => undefined);
    const enqueuer = createEnqueuer({ queues, redis, logger: new RecordingLogger(), attempts: 1, backoffMs: 10 });
    await expect(enqueuer.enqueue('start', { gameId: 'g-6', imageRef: 'i:1', opSource: 'gm_rest', sourceRef: 'x' })).rejects.toThrow();
    redis.disconnect();
    connection.disconnect();
  });
});
