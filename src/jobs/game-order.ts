/**
 * One order per game (contract §10, §14): operations on a game take effect in
 * the order they were accepted, across the four lifecycle queues, and the
 * last accepted request wins.
 *
 * Accepting an operation (enqueue.ts, under its per-game mutex) takes a number
 * from one strictly increasing counter and adds `{queue}/{seq}` to the game's
 * order, a sorted set scored by seq; the job carries the seq in its data
 * (`orderSeq`). An operation whose queue still holds an earlier job under the
 * game's id waits in the game's deferred hash until that job has ended
 * (enqueue.ts promotes it). A processor runs only when its entry heads the
 * order; otherwise it waits (job-wait.ts). The entry leaves when its job has
 * finished for good.
 *
 * A start, restart or patch whose turn comes while a stop was accepted after
 * it, and no restart (which reads the image the game last ran), is moot: the
 * stop decides the game's state whatever it did. It ends `superseded`
 * without running (contract §14).
 *
 * Nothing may wedge a game, so whoever looks at the head drops it when its job
 * is gone, is another job under the same id (another seq), or has finished —
 * but never while that queue's enqueue mutex for the game is held (an enqueuer
 * adds the entry before the job exists, under the mutex), nor while it is deferred.
 *
 * Here: the port the processors wait on and the hooks that keep it; its Redis
 * side (keys, Lua) is src/infra/redis/game-order.ts.
 */
import type { Job, Worker } from 'bullmq';
import type { Logger } from '../domain/ports.js';
import type { OpSource } from '../domain/model.js';
import type { LifecycleQueue } from './queues.js';

/** The seq a job was accepted with, or null (a job added before ordering, or by hand). */
export function orderSeqOf(job: { readonly data?: unknown }): number | null {
  const seq = (job.data as { orderSeq?: unknown } | undefined)?.orderSeq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

/** A request that joined another's pending operation: its audit row names it (request-ends.ts). */
export interface Joiner {
  sourceRef: string;
  opSource: OpSource;
}

/**
 * go: the job heads its game's order; moot: it does, and a later stop makes it
 * moot; wait: an earlier operation is pending (`promote`: a deferred one heads
 * the order and may need its job added).
 */
export type Turn = { turn: 'go' | 'moot' } | { turn: 'wait'; promote: boolean };

/** What the order reads and writes of a job: its id (the game), its data (`orderSeq`). A BullMQ job is one. */
export interface OrderedJob {
  readonly id?: string | undefined;
  readonly data: unknown;
  updateData(data: object): Promise<void>;
}

export interface GameOrder {
  /** Where the job stands in its game's order. A job with no place (added by hand, retried by an operator) takes one at the back. */
  turn(queue: LifecycleQueue, job: OrderedJob): Promise<Turn>;
  /** The job finished for good: its place goes, and the next operation may run. */
  leave(queue: LifecycleQueue, job: OrderedJob): Promise<void>;
  /** The job's end is decided: from now on no request joins it; those that did are returned. */
  close(queue: LifecycleQueue, job: OrderedJob): Promise<Joiner[]>;
}

/**
 * Entries leave after BullMQ has recorded the finish (these events), not from
 * the processor before it: a worker that dies in between leaves a finished
 * job's entry, which the next looker drops; the other way round, its job would
 * run again with no place and could follow operations accepted after it.
 * Then the game's deferred operation of that queue, if any, becomes its job.
 */
export function leaveOrderWhenFinished(
  worker: Worker,
  queue: LifecycleQueue,
  order: GameOrder,
  promote: (gameId: string) => Promise<void>,
  logger: Logger,
): void {
  const leave = (job: Job) => {
    order
      .leave(queue, job)
      .then(() => promote(job.id ?? ''))
      .catch((error: unknown) =>
        logger.warn({ job_id: job.id, err: String(error) }, 'order entry not removed or next operation not promoted; a looker or the sweep will'),
      );
  };
  worker.on('completed', leave);
  // `failed` fires for every failed attempt; only a final failure has finishedOn.
  worker.on('failed', (job) => {
    if (job?.finishedOn) leave(job);
  });
}
