/**
 * The start-runtime processor on real BullMQ workers, around the domain on
 * in-memory fakes: the Result as return value or failure, retries, progress,
 * and surviving the death of the worker that ran it. (The real Docker path:
 * test/e2e and test/faults.)
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepHook } from '../../src/jobs/lifecycle-jobs.js';
import { lifecycleWorkerOptions } from '../../src/jobs/lifecycle-jobs.js';
import { resultFromFailure } from '../../src/jobs/result-table.js';
import { createStartProcessor } from '../support/start-job.js';
import { IMAGE, world } from '../fakes/world.js';
import { testRedisUrl } from '../support/services.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `worker: false` leaves the queue without a worker until the test starts one. */
async function harness(options: { worker?: boolean } = {}) {
  const w = world();
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue('start-runtime', { connection, prefix });
  const events = new QueueEvents('start-runtime', { connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }), prefix });
  await events.waitUntilReady();
  const workers: Worker[] = [];
  cleanups.push(async () => {
    for (const worker of workers) await worker.close(true);
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
  /** A 1 s lock: a dead worker's job is noticed in about 2 s. */
  const worker = (stepHook?: StepHook): Worker => {
    const started = new Worker('start-runtime', createStartProcessor(w.deps, stepHook), {
      connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }),
      prefix,
      ...lifecycleWorkerOptions(1_000),
    });
    workers.push(started);
    return started;
  };
  if (options.worker !== false) worker();
  const add = (gameId: string, imageRef = IMAGE, attempts = 3) =>
    queue.add('start', { gameId, imageRef, opSource: 'gm_rest', sourceRef: 'http:req-1' }, { jobId: gameId, attempts, backoff: { type: 'fixed', delay: 20 } });
  return { w, queue, events, worker, add };
}

describe('start-runtime jobs on a real worker', () => {
  it('a success completes with the contract Result as return value, one audit row per attempt', async () => {
    const h = await harness();
    const job = await h.add('g-ok');
    const value = (await job.waitUntilFinished(h.events, 10_000)) as Record<string, unknown>;
    expect(value).toMatchObject({ outcome: 'success', error_code: null, error_message: '', record: { game_id: 'g-ok', status: 'running' } });
    expect(h.w.operations.entries.map((e) => e.sourceRef)).toEqual(['http:req-1 job:g-ok#1']);
  });

  it('a permanent failure fails at once, never retried, its Result kept in the failure', async () => {
    const h = await harness();
    h.w.docker.networks.clear();
    const job = await h.add('g-perm');
    const error = await job.waitUntilFinished(h.events, 10_000).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(resultFromFailure(error?.message)).toEqual({
      outcome: 'failure',
      error_code: 'start_config_invalid',
      error_message: 'docker network "galaxy-engines" is missing',
      record: null,
      retryable: false,
    });
    const stored = (await h.queue.getJob('g-perm')) as Job;
    expect(await stored.getState()).toBe('failed');
    expect(stored.attemptsMade).toBe(1);
    expect(h.w.operations.entries).toHaveLength(1);
  });

  it('a retryable failure is retried and each attempt audited', async () => {
    const h = await harness();
    h.w.records.failGet = new Error('db restarting');
    const job = await h.add('g-retry', IMAGE, 3);
    await expect(job.waitUntilFinished(h.events, 10_000)).rejects.toThrow(/internal_error/);
    const stored = (await h.queue.getJob('g-retry')) as Job;
    expect(stored.attemptsMade).toBe(3);
    expect(h.w.operations.entries.map((e) => [e.errorCode, e.sourceRef])).toEqual([
      ['internal_error', 'http:req-1 job:g-retry#1'],
      ['internal_error', 'http:req-1 job:g-retry#2'],
      ['internal_error', 'http:req-1 job:g-retry#3'],
    ]);
  });

  it('a retryable failure that heals completes on a later attempt', async () => {
    const h = await harness();
    h.w.leases.failAcquire = new Error('redis restarting');
    const job = await h.add('g-heal', IMAGE, 5);
    setTimeout(() => {
      h.w.leases.failAcquire = null;
    }, 60);
    const value = (await job.waitUntilFinished(h.events, 10_000)) as Record<string, unknown>;
    expect(value).toMatchObject({ outcome: 'success' });
    expect(h.w.operations.entries.at(-1)).toMatchObject({ outcome: 'success' });
    expect(h.w.operations.entries.slice(0, -1).every((e) => e.errorCode === 'service_unavailable')).toBe(true);
  });

  it('a payload that does not parse fails at once', async () => {
    const h = await harness();
    const job = await h.queue.add('start', { gameId: '../x', imageRef: '' }, { jobId: 'bad-payload', attempts: 3 });
    await expect(job.waitUntilFinished(h.events, 10_000)).rejects.toThrow(/invalid start payload/);
    expect(((await h.queue.getJob('bad-payload')) as Job).attemptsMade).toBe(1);
  });

  it('turns pull progress into job progress, ending on the latest report', async () => {
    const h = await harness();
    // Not local, but pullable: the pull reports progress.
    h.w.docker.images.delete(IMAGE);
    h.w.docker.registry.set(IMAGE, {});
    const seen: unknown[] = [];
    h.events.on('progress', ({ jobId, data }) => {
      if (jobId === 'g-pull') seen.push(data);
    });
    const job = await h.add('g-pull');
    expect(await job.waitUntilFinished(h.events, 10_000)).toMatchObject({ outcome: 'success' });
    const stored = (await h.queue.getJob('g-pull')) as Job;
    // Both reports came within one throttle window: the first is written at once, the last when the job ends.
    expect(stored.progress).toEqual({ step: 'pull_image', layers_done: 1, layers_total: 1, bytes_done: 1, bytes_total: 1 });
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(2);
    expect(seen[0]).toEqual({ step: 'pull_image', layers_done: 0, layers_total: 1, bytes_done: 0, bytes_total: 1 });
  });

  it('a job whose worker died, twice, runs again and completes: one container, one audit row', async () => {
    const h = await harness({ worker: false });
    const reached: string[] = [];
    // A worker that dies just before it runs the container: it hangs there until it is closed without a goodbye.
    const diesAtRun: StepHook = (job, step) => {
      if (step !== 'run_container') return;
      reached.push(`${job.id ?? ''}:${step}`);
      return new Promise(() => undefined);
    };
    const first = h.worker(diesAtRun);
    const job = await h.add('g-stall');
    await expect.poll(() => reached, { timeout: 5_000 }).toEqual(['g-stall:run_container']);
    await first.close(true);
    // A dead attempt renews nothing: its lease lapses after one TTL (on the world's clock).
    h.w.clock.advance(h.w.deps.settings.leaseTtlMs);

    // The lock expires; a new worker notices the stall and takes the job (and dies too).
    const second = h.worker(diesAtRun);
    await expect.poll(() => reached, { timeout: 10_000 }).toEqual(['g-stall:run_container', 'g-stall:run_container']);
    await second.close(true);
    h.w.clock.advance(h.w.deps.settings.leaseTtlMs);

    h.worker();
    const value = await job.waitUntilFinished(h.events, 15_000);
    expect(value).toMatchObject({ outcome: 'success', error_code: null, record: { game_id: 'g-stall', status: 'running' } });
    const stored = (await h.queue.getJob('g-stall')) as Job;
    // Stalls are not attempts, and two of them did not fail the job for good.
    expect(stored.stalledCounter).toBe(2);
    expect(stored.attemptsMade).toBe(1);
    expect(h.w.docker.containers.size).toBe(1);
    // Each run took the lease with a token of its own and a larger fence; the last one wrote the record.
    expect(h.w.operations.entries.map((e) => [e.outcome, e.errorCode])).toEqual([['success', '']]);
    expect(h.w.leases.fences.get('g-stall')).toBe(3);
    expect(h.w.records.fences.get('g-stall')).toBe(3);
  });
});
