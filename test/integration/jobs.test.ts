import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { lifecycleWorkerOptions } from '../../src/jobs/lifecycle-jobs.js';
import { resultFromFailure } from '../../src/jobs/result-table.js';
import { createStartProcessor } from '../../src/jobs/start-job.js';
import { IMAGE, world } from '../fakes/world.js';
import { testRedisUrl } from '../support/services.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness() {
  const w = world();
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue('start-runtime', { connection, prefix });
  const events = new QueueEvents('start-runtime', { connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }), prefix });
  const worker = new Worker('start-runtime', createStartProcessor(w.deps), { connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }), prefix, ...lifecycleWorkerOptions() });
  await events.waitUntilReady();
  cleanups.push(async () => {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
  const add = (gameId: string, imageRef = IMAGE, attempts = 3) =>
    queue.add('start', { gameId, imageRef, opSource: 'gm_rest', sourceRef: 'http:req-1' }, { jobId: gameId, attempts, backoff: { type: 'fixed', delay: 20 } });
  return { w, queue, events, add };
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
    const error = await job.waitUntilFinished(h.events, 10_000).then(() => null, (e: unknown) => e as Error);
    expect(resultFromFailure(error?.message)).toEqual({ outcome: 'failure', error_code: 'start_config_invalid', error_message: 'docker network "galaxy-engines" is missing', record: null, retryable: false });
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
});
