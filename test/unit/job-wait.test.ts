import type { Job } from 'bullmq';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { isLeaseBusy, LEASE_BUSY_MESSAGE } from '../../src/domain/errors.js';
import { orderMember } from '../../src/infra/redis/order-keys.js';
import { orderSeqOf } from '../../src/jobs/game-order.js';
import { nextLookDelay, waitingSinceOf } from '../../src/jobs/job-wait.js';
import { createLifecycleProcessor } from '../../src/jobs/lifecycle-jobs.js';
import { resultFromFailure } from '../../src/jobs/result-table.js';
import { IMAGE, world } from '../fakes/world.js';

describe('how long a waiting job waits before it looks again', () => {
  it('starts at 100 ms, grows with the time waited, and stays within 2 s', () => {
    expect(nextLookDelay(0, 600_000)).toBe(100);
    expect(nextLookDelay(150, 600_000)).toBe(100);
    expect(nextLookDelay(1_000, 600_000)).toBe(500);
    expect(nextLookDelay(3_000, 600_000)).toBe(1_500);
    expect(nextLookDelay(60_000, 600_000)).toBe(2_000);
  });

  it('never sleeps past the limit, and always sleeps a little', () => {
    expect(nextLookDelay(599_500, 600_000)).toBe(500);
    expect(nextLookDelay(600_000, 600_000)).toBe(1);
  });

  it('counts from the first run, kept in the data, since processedOn moves at every run', () => {
    expect(waitingSinceOf({ data: { waitingSince: 1_000 }, processedOn: 5_000 }, 9_000)).toBe(1_000);
    expect(waitingSinceOf({ data: {}, processedOn: 5_000 }, 9_000)).toBe(5_000);
    expect(waitingSinceOf({ data: {}, processedOn: undefined }, 9_000)).toBe(9_000);
  });
});

describe('order places', () => {
  it('name the queue and the seq; only a positive integer seq counts', () => {
    expect(orderMember('stop-runtime', 42)).toBe('stop-runtime/42');
    expect(orderSeqOf({ data: { orderSeq: 42 } })).toBe(42);
    for (const orderSeq of [undefined, 0, -1, 1.5, '42']) expect(orderSeqOf({ data: { orderSeq } })).toBeNull();
  });
});

describe('a busy lease', () => {
  it('is the retryable conflict with the lease_busy reason, and nothing else', () => {
    const busy = { outcome: 'failure', errorCode: 'conflict', errorMessage: LEASE_BUSY_MESSAGE, retryable: true, lease: 'lease_busy' } as const;
    expect(isLeaseBusy(busy)).toBe(true);
    // Decided by the code, not the text: the busy message alone, or a conflict on image, is not a busy lease.
    expect(isLeaseBusy({ ...busy, lease: undefined })).toBe(false);
    const onImage = { ...busy, errorMessage: 'the game runs another image', lease: undefined };
    expect(isLeaseBusy(onImage)).toBe(false);
    expect(isLeaseBusy({ ...busy, lease: 'lease_lost' })).toBe(false);
    expect(isLeaseBusy({ ...busy, retryable: false })).toBe(false);
    expect(isLeaseBusy({ ...busy, errorCode: 'service_unavailable' })).toBe(false);
  });
});

describe('the processor on a busy lease', () => {
  /** Just what the processor touches of a BullMQ job, recording the moves. */
  function fakeJob(data: Record<string, unknown>, processedOn: number) {
    const calls: Array<[string, unknown]> = [];
    const job = {
      id: 'g-1',
      data,
      processedOn,
      timestamp: 1,
      attemptsMade: 0,
      updateData: (next: Record<string, unknown>) => {
        calls.push(['updateData', next]);
        job.data = next;
        return Promise.resolve();
      },
      moveToDelayed: (at: number, token: string) => {
        calls.push(['moveToDelayed', { at, token }]);
        return Promise.resolve();
      },
      updateProgress: () => Promise.resolve(),
    };
    return { job, calls };
  }

  it('delays the job without an attempt, keeping when it began to wait; past the limit fails for good with conflict', async () => {
    const w = world();
    await w.leases.tryAcquire('g-1', 'someone-else', 60_000);
    const processor = createLifecycleProcessor('start', w.deps, undefined, { leaseWaitMs: 10_000 });
    const payload = { gameId: 'g-1', imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'r' };
    const firstRun = Date.now();
    const { job, calls } = fakeJob(payload, firstRun);
    await expect(processor(job as unknown as Job, 'tok')).rejects.toBeInstanceOf(DelayedError);
    expect(calls[0]).toEqual(['updateData', { ...payload, waitingSince: firstRun }]);
    const [name, move] = calls[1] as [string, { at: number; token: string }];
    expect(name).toBe('moveToDelayed');
    expect(move.token).toBe('tok');
    expect(move.at - Date.now()).toBeLessThanOrEqual(100);

    const late = fakeJob({ ...payload, waitingSince: Date.now() - 10_000 }, Date.now());
    const error = await processor(late.job as unknown as Job, 'tok').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(resultFromFailure(error?.message)).toEqual({
      outcome: 'failure',
      error_code: 'conflict',
      error_message: LEASE_BUSY_MESSAGE,
      record: null,
      retryable: true,
    });
    expect(late.calls).toEqual([]);
  });
});
