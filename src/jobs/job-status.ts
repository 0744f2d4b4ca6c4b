/**
 * The read model of lifecycle jobs: where a game's job stands and, once it
 * finished, its Result — from BullMQ while it keeps the job, rebuilt from the
 * operation log once retention has trimmed it. The HTTP layer reads jobs only
 * through this, so BullMQ stays behind src/jobs.
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import type { OperationLog, RuntimeRecordStore } from '../domain/ports.js';
import type { ResultJson } from './json.js';
import type { LifecycleKind, QueueName } from './queues.js';
import { QUEUE_OF } from './queues.js';
import { resultFromFailure, resultOfJob, resultOfOperation } from './result-table.js';
import { errorMessage } from '../domain/errors.js';
import { orderSeqOf } from './game-order.js';

/** A poll's answer, in the contract's JSON (`pollResponse` in src/http/schemas.ts). */
export interface JobPoll {
  job_id: string;
  state: string;
  attempts: number | null;
  progress: unknown;
  result?: ResultJson;
  last_failure?: ResultJson;
  source: 'queue' | 'operation_log';
}

export interface JobStatus {
  /**
   * The game's latest accepted request of this kind (contract §14): `waiting`
   * while it is deferred behind an earlier job of the same id, else its job;
   * null when neither the queue nor the operation log knows one.
   */
  poll(kind: LifecycleKind, gameId: string): Promise<JobPoll | null>;
  /** The Result of the run of `jobId` that carries order place `seq`, if it finishes within `ms`; null if not (or it cannot be watched). */
  waitFor(kind: LifecycleKind, jobId: string, seq: number, ms: number): Promise<ResultJson | null>;
}

/** How often `waitFor` looks whether a deferred request has become its job. */
const DEFERRED_LOOK_MS = 100;

export interface JobStatusDeps {
  queues: Record<QueueName, Queue>;
  /** Per lifecycle queue, for `waitFor`; read at each call, so a watcher added later is used. */
  queueEvents: Partial<Record<QueueName, QueueEvents>>;
  records: RuntimeRecordStore;
  operations: OperationLog;
  /** Whether the game has a deferred operation in this queue (enqueue.ts); absent: none is ever deferred. */
  hasDeferred?: (queue: QueueName, gameId: string) => Promise<boolean>;
}

export function createJobStatus(deps: JobStatusDeps): JobStatus {
  return {
    async poll(kind, gameId) {
      if (await deps.hasDeferred?.(QUEUE_OF[kind], gameId)) {
        return { job_id: gameId, state: 'waiting', attempts: 0, progress: null, source: 'queue' };
      }
      const queue = deps.queues[QUEUE_OF[kind]];
      // The state first, then the job's data: a job read first could finish before
      // its state is read, and a poll would say `completed` with no result yet.
      // Read this way, data is never older than the state it is shown with.
      const state = await queue.getJobState(gameId);
      const job = state === 'unknown' ? undefined : ((await queue.getJob(gameId)) as Job | undefined);
      if (job) {
        const result = resultOfJob({ state, returnvalue: job.returnvalue, failedReason: job.failedReason });
        // A pending job that already failed an attempt: say why it is retrying.
        const lastFailure = !result && job.attemptsMade > 0 ? resultFromFailure(job.failedReason) : null;
        return {
          job_id: job.id ?? gameId,
          state,
          attempts: job.attemptsMade,
          progress: job.progress,
          ...(result ? { result } : {}),
          ...(lastFailure ? { last_failure: lastFailure } : {}),
          source: 'queue',
        };
      }
      const [entry] = await deps.operations.listByGame(gameId, 1, kind);
      if (!entry) return null;
      const result = resultOfOperation(entry, await deps.records.get(gameId));
      return { job_id: gameId, state: entry.outcome === 'success' ? 'completed' : 'failed', attempts: null, progress: null, result, source: 'operation_log' };
    },

    async waitFor(kind, jobId, seq, ms) {
      const events = deps.queueEvents[QUEUE_OF[kind]];
      if (!events) return null;
      const deadline = Date.now() + ms;
      for (;;) {
        const job = (await deps.queues[QUEUE_OF[kind]].getJob(jobId)) as Job | undefined;
        if (!job) return null;
        const carried = orderSeqOf(job);
        // A later run of the id: this request's own has ended and was replaced; its poll no longer shows it.
        if (carried !== null && carried > seq) return null;
        if (carried === seq || carried === null) return finishOf(job, events, deadline - Date.now());
        // An earlier run still holds the id: this request is deferred behind it.
        if (Date.now() + DEFERRED_LOOK_MS > deadline) return null;
        await new Promise((resolve) => setTimeout(resolve, DEFERRED_LOOK_MS));
      }
    },
  };
}

async function finishOf(job: Job, events: QueueEvents, ms: number): Promise<ResultJson | null> {
  if (ms <= 0) return null;
  try {
    return (await job.waitUntilFinished(events, ms)) as ResultJson;
  } catch (error) {
    const reason = errorMessage(error);
    // BullMQ rejects with the job's failed reason, or with this text when time ran out.
    if (/timed out before finishing/.test(reason)) return null;
    return resultOfJob({ state: 'failed', returnvalue: undefined, failedReason: reason });
  }
}
