/**
 * The dedup-aware enqueue contract (test/contracts/dedup-enqueue.contract.ts)
 * against the real enqueuer on real Redis: the intake's fake cannot drift
 * from what src/jobs/enqueue.ts does.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import type { LifecycleKind } from '../../src/jobs/queues.js';
import { QUEUE_OF } from '../../src/jobs/queues.js';
import { describeDedupEnqueueContract } from '../contracts/dedup-enqueue.contract.js';
import { RecordingLogger } from '../fakes/support.js';
import { testQueues } from '../support/test-queues.js';

const KINDS = Object.keys(QUEUE_OF) as LifecycleKind[];

describeDedupEnqueueContract('real enqueuer on Redis', ({ windowMs }) => {
  const { prefix, connection, redis, queues, close } = testQueues();
  const enqueuer = createEnqueuer({
    queues,
    redis,
    logger: new RecordingLogger(),
    attempts: 1,
    backoffMs: 10,
    mutexPrefix: `${prefix}:enqueue:`,
    idleTtlMs: windowMs,
  });

  /** Completes each queue's jobs as a worker would (a processor that returns), then adds the jobs of deferred operations. */
  async function endJobs(gameId: string): Promise<void> {
    for (let round = 0; round < 3; round++) {
      for (const kind of KINDS) {
        const worker = new Worker(QUEUE_OF[kind], null, { connection, prefix, autorun: false });
        const token = randomUUID();
        for (let job = await worker.getNextJob(token); job; job = await worker.getNextJob(token)) await job.moveToCompleted('done', token, false);
        await worker.close();
      }
      await enqueuer.promote(gameId);
      if (!(await redis.exists(`${prefix}:rtm-deferred:${gameId}`))) return;
    }
  }

  async function pendingKinds(gameId: string): Promise<LifecycleKind[]> {
    const pending: LifecycleKind[] = [];
    for (const kind of KINDS) {
      const state = await queues[QUEUE_OF[kind]].getJobState(gameId);
      if ((state !== 'unknown' && state !== 'completed' && state !== 'failed') || (await enqueuer.hasDeferred(QUEUE_OF[kind], gameId))) pending.push(kind);
    }
    return pending;
  }

  return Promise.resolve({
    enqueue: (kind, payload, opts) => enqueuer.enqueue(kind, payload, opts),
    endJobs,
    pendingKinds,
    elapse: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    cleanup: close,
  });
});
