/**
 * A fresh game's job is added by the admission script (prepared-add.ts), not
 * by Queue.add: held here to what Queue.add writes, key by key, on real Redis
 * and the pinned BullMQ, and to leaving nothing behind when the add fails.
 */
import type { Queue } from 'bullmq';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import { RETENTION } from '../../src/jobs/enqueue.js';
import { prepareStandardAdd } from '../../src/jobs/prepared-add.js';
import type { StartPayload } from '../../src/jobs/queues.js';
import { RecordingLogger } from '../fakes/support.js';
import { testQueues } from '../support/test-queues.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function harness() {
  const q = testQueues();
  cleanups.push(q.close);
  const enqueuer = createEnqueuer({
    queues: q.queues,
    redis: q.redis,
    logger: new RecordingLogger(),
    attempts: 3,
    backoffMs: 10,
    mutexPrefix: `${q.prefix}:enqueue:`,
  });
  return { ...q, enqueuer };
}

const payload = (gameId: string): StartPayload => ({ gameId, imageRef: 'galaxy/engine:1.0', opSource: 'gm_rest', sourceRef: 'req-1', requestId: 'r-1' });
const OPTS = { attempts: 3, backoff: { type: 'exponential', delay: 10 }, ...RETENTION };

/** Every key a queue has under its prefix, with what it holds; timestamps and stream ids taken out. */
async function snapshot(h: ReturnType<typeof harness>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await h.redis.keys(`${h.prefix}:start-runtime:*`)).sort()) {
    const name = key.slice(h.prefix.length);
    const type = await h.redis.type(key);
    if (type === 'hash') {
      const hash = await h.redis.hgetall(key);
      delete hash.timestamp;
      out[name] = hash;
    } else if (type === 'list') out[name] = await h.redis.lrange(key, 0, -1);
    else if (type === 'zset') out[name] = await h.redis.zrange(key, '0', '-1', 'WITHSCORES');
    else if (type === 'stream') out[name] = (await h.redis.xrange(key, '-', '+')).map(([, fields]) => fields);
    else if (type === 'string') out[name] = await h.redis.get(key);
    else out[name] = type;
  }
  return out;
}

describe('a fresh game job added in the admission script', () => {
  it('writes what Queue.add writes: the job hash, the wait list, the marker, the events', async () => {
    const ours = harness();
    const outcome = await ours.enqueuer.enqueue('start', payload('g-fresh'));
    expect(outcome).toMatchObject({ kind: 'enqueued', jobId: 'g-fresh', seq: 1, state: 'waiting' });

    const theirs = harness();
    await theirs.queues['start-runtime'].add('start', { ...payload('g-fresh'), orderSeq: 1 }, { jobId: 'g-fresh', ...OPTS });

    const [a, b] = [await snapshot(ours), await snapshot(theirs)];
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect(Object.keys(a)).toEqual(expect.arrayContaining([':start-runtime:g-fresh', ':start-runtime:wait', ':start-runtime:events', ':start-runtime:marker']));
    expect(a).toEqual(b);
    const job = await ours.queues['start-runtime'].getJob('g-fresh');
    expect(job?.data).toEqual({ ...payload('g-fresh'), orderSeq: 1 });
    expect(job?.opts).toMatchObject({ attempts: 3, removeOnComplete: RETENTION.removeOnComplete });
    expect(Math.abs((job?.timestamp ?? 0) - Date.now())).toBeLessThan(5_000);
    // Released in the same step: no mutex is left.
    expect(await ours.redis.keys(`${ours.prefix}:enqueue:*`)).toEqual([]);
  });

  it('is run by a worker with the data it was given, the second operation of a game carrying seq 2', async () => {
    const h = harness();
    const seen: unknown[] = [];
    const worker = new Worker(
      'start-runtime',
      (job) => {
        seen.push(job.data);
        return Promise.resolve('ok');
      },
      { connection: h.connection, prefix: h.prefix },
    );
    cleanups.push(() => worker.close());
    await h.enqueuer.enqueue('start', payload('g-run'));
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(async () => h.queues['start-runtime'].getJobState('g-run'), { timeout: 10_000 }).toBe('completed');
    // A finished job holds the id now: this one is added by the enqueuer after it removed that one.
    await h.enqueuer.enqueue('start', { ...payload('g-run'), sourceRef: 'req-2' });
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    expect(seen).toEqual([
      { ...payload('g-run'), orderSeq: 1 },
      { ...payload('g-run'), sourceRef: 'req-2', orderSeq: 2 },
    ]);
  });

  it('an add that fails in Redis leaves no job, no place in the order and no mutex; the next request is a fresh add', async () => {
    const h = harness();
    const wait = h.queues['start-runtime'].keys.wait!;
    // The wait list is a string: BullMQ's push into it fails after it wrote the job's hash.
    await h.redis.set(wait, 'not a list');
    await expect(h.enqueuer.enqueue('start', payload('g-fail'))).rejects.toThrow(/WRONGTYPE/);
    expect(await h.redis.exists(`${h.prefix}:start-runtime:g-fail`)).toBe(0);
    expect(await h.redis.zcard(`${h.prefix}:rtm-order:g-fail`)).toBe(0);
    expect(await h.redis.keys(`${h.prefix}:enqueue:*`)).toEqual([]);
    await h.redis.del(wait);
    expect(await h.enqueuer.enqueue('start', payload('g-fail'))).toMatchObject({ kind: 'enqueued', seq: 2 });
    expect(await h.queues['start-runtime'].getJobState('g-fail')).toBe('waiting');
  });

  it('refuses data whose orderSeq the script could not write, before anything is sent', async () => {
    const { queues } = harness();
    const queue: Queue = queues['start-runtime'];
    await expect(prepareStandardAdd(queue, 'start', { orderSeq: 5, gameId: 'g' }, { jobId: 'g' })).rejects.toThrow(/orderSeq is not the data's last field/);
    await expect(prepareStandardAdd(queue, 'start', { gameId: 'g' }, { jobId: 'g', delay: 1000 })).rejects.toThrow(/not addStandardJob/);
  });
});
