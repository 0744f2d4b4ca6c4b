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
 */
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/ports.js';
import type { OpSource } from '../domain/model.js';
import type { LifecycleQueue } from './queues.js';
import { CLOSE_LUA, TURN_LUA } from './order-scripts.js';

export const DEFAULT_MUTEX_PREFIX = 'rtmanager:enqueue:';

/** How long a closed operation's marker outlives its close: longer than BullMQ takes to record the finish. */
const CLOSED_MARKER_MS = 3_600_000;

/** Under the BullMQ prefix, so two deployments sharing a Redis never judge each other's jobs. */
export function orderKeys(bullPrefix: string) {
  return {
    seq: `${bullPrefix}:rtm-order-seq`,
    deferredGames: `${bullPrefix}:rtm-deferred-games`,
    ofGame: (gameId: string) => `${bullPrefix}:rtm-order:${gameId}`,
    deferred: (gameId: string) => `${bullPrefix}:rtm-deferred:${gameId}`,
    joins: (gameId: string) => `${bullPrefix}:rtm-joins:${gameId}`,
    closed: (gameId: string, member: string) => `${bullPrefix}:rtm-closed:${gameId}:${member}`,
    seen: (gameId: string, kind: 'e' | 'r', id: string) => `${bullPrefix}:rtm-seen:${gameId}:${kind}:${id}`,
  };
}

export function orderMember(queue: string, seq: number): string {
  return `${queue}/${seq}`;
}

/** The seq a job was accepted with, or null (a job added before ordering, or by hand). */
export function orderSeqOf(job: Pick<Job, 'data'>): number | null {
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

export interface GameOrder {
  /** Where the job stands in its game's order. A job with no place (added by hand, retried by an operator) takes one at the back. */
  turn(queue: LifecycleQueue, job: Job): Promise<Turn>;
  /** The job finished for good: its place goes, and the next operation may run. */
  leave(queue: LifecycleQueue, job: Job): Promise<void>;
  /** The job's end is decided: from now on no request joins it; those that did are returned. */
  close(queue: LifecycleQueue, job: Job): Promise<Joiner[]>;
}

type OrderRedis = {
  rtmOrderTurn(key: string, deferredKey: string, member: string, bullPrefix: string, gameId: string, mutexPrefix: string): Promise<number>;
  rtmOrderClose(joinsKey: string, closedKey: string, member: string, ttlMs: number): Promise<string>;
};

export function createGameOrder(deps: { redis: Redis; bullPrefix: string; mutexPrefix?: string; idleTtlMs?: number }): GameOrder {
  const keys = orderKeys(deps.bullPrefix);
  // Never longer than the game's other keys live (contract §14).
  const closedMarkerMs = Math.min(CLOSED_MARKER_MS, deps.idleTtlMs ?? CLOSED_MARKER_MS);
  const mutexPrefix = deps.mutexPrefix ?? DEFAULT_MUTEX_PREFIX;
  if (typeof (deps.redis as Partial<OrderRedis>).rtmOrderTurn !== 'function') {
    deps.redis.defineCommand('rtmOrderTurn', { numberOfKeys: 2, lua: TURN_LUA });
    deps.redis.defineCommand('rtmOrderClose', { numberOfKeys: 2, lua: CLOSE_LUA });
  }
  const redis = deps.redis as unknown as OrderRedis;
  const gameOf = (job: Job) => job.id ?? '';

  const ask = (queue: LifecycleQueue, job: Job, seq: number) =>
    redis.rtmOrderTurn(keys.ofGame(gameOf(job)), keys.deferred(gameOf(job)), orderMember(queue, seq), deps.bullPrefix, gameOf(job), mutexPrefix);

  /** The job data first, then the entry: an entry never names a seq its job does not carry, or a looker would drop it. */
  async function takePlace(queue: LifecycleQueue, job: Job): Promise<number> {
    const seq = await deps.redis.incr(keys.seq);
    await job.updateData({ ...(job.data as object), orderSeq: seq });
    await deps.redis.zadd(keys.ofGame(gameOf(job)), seq, orderMember(queue, seq));
    return seq;
  }

  return {
    async turn(queue, job) {
      const seq = orderSeqOf(job);
      let answer = seq === null ? -1 : await ask(queue, job, seq);
      if (answer === -1) answer = await ask(queue, job, await takePlace(queue, job));
      if (answer === 1) return { turn: 'go' };
      if (answer === 3) return { turn: 'moot' };
      return { turn: 'wait', promote: answer === 2 };
    },
    async leave(queue, job) {
      const seq = orderSeqOf(job);
      if (seq !== null) await deps.redis.zrem(keys.ofGame(gameOf(job)), orderMember(queue, seq));
    },
    async close(queue, job) {
      const seq = orderSeqOf(job);
      if (seq === null) return [];
      const member = orderMember(queue, seq);
      const list = await redis.rtmOrderClose(keys.joins(gameOf(job)), keys.closed(gameOf(job), member), member, closedMarkerMs);
      return parseJoiners(list);
    },
  };
}

function parseJoiners(list: string): Joiner[] {
  if (list === '') return [];
  try {
    const parsed = JSON.parse(list) as unknown;
    // cjson writes an empty table as {}: no joiner.
    return Array.isArray(parsed) ? (parsed as Joiner[]).filter((j) => typeof j?.sourceRef === 'string') : [];
  } catch {
    return [];
  }
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
