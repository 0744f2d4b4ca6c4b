/**
 * Enqueue with the game id as the job id — without BullMQ's silent drops, and
 * with the last accepted request winning (contract §14).
 *
 * BullMQ ignores an add whose id exists in any state, and "check → remove →
 * add" from several callers at once removes each other's fresh jobs
 * (stack-facts: 875 adds reported, 591 ran). So the whole decision runs
 * under a short per-game, per-queue enqueue mutex in Redis, in one script
 * that also takes the request's place in its game's order (game-order.ts);
 * the order's admission (order-admission.ts, in Redis src/infra/redis/) says:
 *
 *   the game's last accepted operation is this kind's, pending, same image → join it
 *                                                      another image → 409
 *   the job id is held by an earlier pending job       → a new operation, deferred:
 *                                                        its job is added once that one ends
 *   the job id is free or its job finished             → a new operation: remove, add
 *
 * A request may join only the LAST accepted operation: start, stop, start
 * must not fold the second start into the first (the game would end stopped).
 *
 * Only enqueuers and the promotion of deferred operations (both under the
 * mutex) remove or add lifecycle jobs; the worker never removes jobs, and
 * retention only trims finished ones, so nothing else can remove a job we
 * just added. Every caller learns which operation carries its request: the
 * job id, its place (`seq`) and the source ref of the request that created it.
 *
 * The mutex has a TTL so a dead enqueuer cannot wedge a game: a holder slow
 * for half of it changes nothing (EnqueueBusyError, a 503; a retry joins).
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from '../domain/ports.js';
import type { DedupKeys, EnqueueLock, OrderAdmission } from './order-admission.js';
import { EnqueueBusyError } from './order-admission.js';
import type { LifecycleKind, LifecyclePayload, QueueName } from './queues.js';
import { QUEUE_OF } from './queues.js';
import { prepareStandardAdd } from './prepared-add.js';

export type EnqueueOutcome =
  | {
      /** enqueued: a new job; deferred: a new operation that becomes a job when the one before it in its queue has ended; joined: the request rides a pending operation. */
      kind: 'enqueued' | 'joined' | 'deferred';
      jobId: string;
      /** The request's place in its game's order: which run of the job id is its own. */
      seq: number;
      /** The job's BullMQ state when the request was attached to it (`waiting` while deferred). */
      state: string;
      /** Source ref of the request that created the operation carrying this one. */
      carrier: string;
    }
  | { kind: 'conflict'; jobId: string; pendingImageRef: string }
  /** A stream entry (or request id) accepted before: nothing new was enqueued. */
  | { kind: 'duplicate'; jobId: string };

export interface EnqueuerDeps {
  queues: Record<QueueName, Queue>;
  /** The game's order on the enqueuers' side: the mutex, the decision, the deferred operations. */
  order: OrderAdmission;
  logger: Logger;
  attempts: number;
  backoffMs: number;
}

export interface Enqueuer {
  enqueue(kind: LifecycleKind, payload: LifecyclePayload, opts?: { dedup?: DedupKeys }): Promise<EnqueueOutcome>;
  enqueueReconcile(): Promise<void>;
  /** Adds the job of each deferred operation of the game whose job id is free now. */
  promote(gameId: string): Promise<void>;
  /** `promote` for every game with a deferred operation (at most `limit` games a call). */
  promoteAll(limit?: number): Promise<number>;
  /** Whether the game has an operation deferred in this queue (its poll then answers `waiting`). */
  hasDeferred(queue: QueueName, gameId: string): Promise<boolean>;
}

/** Finished jobs stay a day (or the newest N) for Bull Board; the poll API falls back to Postgres after. */
export const RETENTION = { removeOnComplete: { age: 86_400, count: 1_000 }, removeOnFail: { age: 86_400, count: 5_000 } } as const;

const KIND_OF_QUEUE = Object.fromEntries(Object.entries(QUEUE_OF).map(([kind, queue]) => [queue, kind])) as Record<string, LifecycleKind>;

type OrderedPayload = LifecyclePayload & { orderSeq: number };

export class LifecycleEnqueuer implements Enqueuer {
  private readonly jobOptions: JobsOptions;

  constructor(private readonly deps: EnqueuerDeps) {
    this.jobOptions = { attempts: deps.attempts, backoff: { type: 'exponential', delay: deps.backoffMs }, ...RETENTION };
  }

  async enqueue(kind: LifecycleKind, payload: LifecyclePayload, opts: { dedup?: DedupKeys } = {}): Promise<EnqueueOutcome> {
    const queueName = QUEUE_OF[kind];
    const queue = this.deps.queues[queueName];
    const jobId = payload.gameId;
    const dedup = opts.dedup;
    // Most requests are a fresh game's: its job goes with the decision, one round trip (prepared-add.ts).
    const add = await prepareStandardAdd(queue, kind, payload, { jobId, ...this.jobOptions });
    const { decision, lock } = await this.deps.order.admit({ kind, queue: queueName, payload, dedup, add });
    let mark = '';
    try {
      switch (decision[0]) {
        case 'busy':
          throw new EnqueueBusyError(`enqueue of ${lock.key} stayed busy`);
        case 'duplicate':
          return { kind: 'duplicate', jobId };
        case 'conflict':
          return { kind: 'conflict', jobId, pendingImageRef: decision[1] };
        case 'joined': {
          // A deferred operation has no job yet (the id's job is an earlier one): it is waiting.
          const state = await queue.getJobState(jobId).catch(() => 'unknown');
          const own = decision[3] === '1';
          return { kind: 'joined', jobId, seq: seqOf(decision[1]), state: own && state !== 'unknown' ? state : 'waiting', carrier: decision[2] };
        }
        case 'deferred':
          return { kind: 'deferred', jobId, seq: seqOf(decision[1]), state: 'waiting', carrier: payload.sourceRef };
        case 'added':
          return { kind: 'enqueued', jobId, seq: seqOf(decision[1]), state: 'waiting', carrier: payload.sourceRef };
        case 'add': {
          const seq = seqOf(decision[1]);
          try {
            await this.addJob(queue, kind, jobId, { ...payload, orderSeq: seq }, decision[2] === '1', lock);
          } catch (error) {
            // No job carries the place: give it back now rather than wait for a looker to drop it.
            await this.deps.order.giveBack(jobId, decision[1]).catch(() => undefined);
            throw error;
          }
          if (dedup) mark = decision[1];
          return { kind: 'enqueued', jobId, seq, state: 'waiting', carrier: payload.sourceRef };
        }
      }
    } finally {
      await lock.release(mark).catch((error: unknown) => this.deps.logger.warn({ key: lock.key, err: String(error) }, 'enqueue mutex release failed'));
    }
  }

  async promote(gameId: string): Promise<void> {
    const queues = await this.deps.order.deferredQueues(gameId);
    for (const queueName of queues) await this.promoteQueue(queueName, gameId);
  }

  async promoteAll(limit = 100): Promise<number> {
    const games = await this.deps.order.gamesWithDeferred(limit);
    for (const gameId of games) await this.promote(gameId);
    return games.length;
  }

  hasDeferred(queue: QueueName, gameId: string): Promise<boolean> {
    return this.deps.order.hasDeferred(queue, gameId);
  }

  async enqueueReconcile(): Promise<void> {
    await this.deps.queues.reconcile.add('reconcile', {}, { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } });
  }

  /** The oldest deferred operation of one queue, if its job id is free now. */
  private async promoteQueue(queueName: string, gameId: string): Promise<void> {
    const kind = KIND_OF_QUEUE[queueName];
    if (!kind) return;
    const queue = this.deps.queues[QUEUE_OF[kind]];
    for (let round = 0; round < 3; round++) {
      const { promotion, lock } = await this.deps.order.claimDeferred(kind, QUEUE_OF[kind], gameId);
      if (promotion[0] === 'again') continue;
      // busy: an enqueuer holds the game; it or the next looker or sweep promotes.
      if (promotion[0] !== 'add') return;
      try {
        const data = JSON.parse(promotion[2]) as OrderedPayload;
        await this.addJob(queue, kind, gameId, data, promotion[3] === '1', lock);
        await this.deps.order.promoted(gameId, promotion[1]);
      } finally {
        await lock.release('').catch(() => undefined);
      }
      return;
    }
  }

  /** Frees the id (a finished job holds it) and adds the job, under the mutex. */
  private async addJob(queue: Queue, kind: LifecycleKind, gameId: string, data: OrderedPayload, finishedHolds: boolean, lock: EnqueueLock) {
    if (finishedHolds) {
      const finished = await queue.getJob(gameId);
      lock.check();
      await finished?.remove().catch((error: unknown) => {
        if (!/could not be found|Missing key|does not exist/i.test(String(error))) throw error;
      });
    }
    lock.check();
    await queue.add(kind, data, { jobId: gameId, ...this.jobOptions });
  }
}

function seqOf(member: string): number {
  return Number(member.slice(member.lastIndexOf('/') + 1));
}
