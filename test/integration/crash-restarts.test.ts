/**
 * The CrashRestarts port on BullMQ and real Redis, handed on by the
 * `crash-restart` worker's own processor to an enqueuer that records what it
 * was asked (the order and the restart it becomes are the lifecycle tests').
 */
import { Worker } from 'bullmq';
import { BullCrashRestarts, createCrashRestartProcessor } from '../../src/jobs/crash-restarts.js';
import type { Enqueuer } from '../../src/jobs/enqueue.js';
import type { CrashRestartPayload } from '../../src/jobs/queues.js';
import { describeCrashRestartsContract } from '../contracts/crash-restarts.contract.js';
import type { DueCrash } from '../fakes/timed-crash-restarts.js';
import { testQueues } from '../support/test-queues.js';

describeCrashRestartsContract('bullmq', () => {
  const { connection, prefix, queues, close } = testQueues();
  const due: DueCrash[] = [];
  const enqueuer: Pick<Enqueuer, 'enqueue'> = {
    enqueue: (kind, payload) => {
      const { gameId, crash, opSource } = payload as CrashRestartPayload;
      if (kind !== 'restart' || opSource !== 'crash_policy') throw new Error(`handed on as ${kind} of ${opSource}`);
      due.push({ gameId, crash });
      return Promise.resolve({ kind: 'enqueued', jobId: gameId, seq: due.length, state: 'waiting', carrier: payload.sourceRef });
    },
  };
  const worker = new Worker('crash-restart', createCrashRestartProcessor(enqueuer), { connection, prefix, concurrency: 4 });
  return Promise.resolve({
    // As the composition root builds it: a crash due at once is handed on without the queue hop.
    port: new BullCrashRestarts(queues['crash-restart'], enqueuer),
    handedOn: () => due,
    cleanup: async () => {
      await worker.close();
      await close();
    },
  });
});
