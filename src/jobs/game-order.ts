/**
 * One order per game (contract §10): operations on a game take effect in the
 * order they were accepted, across the four lifecycle queues.
 *
 * Accepting an operation (enqueue.ts, under its per-game mutex) takes a number
 * from one strictly increasing counter and adds `{queue}/{seq}` to the game's
 * pending set, a sorted set scored by seq; the job carries the seq in its data
 * (`orderSeq`). A processor runs only when its entry heads the set; otherwise
 * it waits (job-wait.ts). The entry leaves when its job has finished for good.
 *
 * Nothing may wedge a game, so whoever looks at the head drops it when its job
 * is gone, is another job under the same id (another seq), or has finished —
 * but never while that queue's enqueue mutex for the game is held: an enqueuer
 * adds the entry before the job exists, under the mutex.
 */
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/ports.js';
import type { LifecycleQueue } from './queues.js';

export const DEFAULT_MUTEX_PREFIX = 'rtmanager:enqueue:';

/** Under the BullMQ prefix, so two deployments sharing a Redis never judge each other's jobs. */
export function orderKeys(bullPrefix: string) {
  return { seq: `${bullPrefix}:rtm-order-seq`, ofGame: (gameId: string) => `${bullPrefix}:rtm-order:${gameId}` };
}

export function orderMember(queue: string, seq: number): string {
  return `${queue}/${seq}`;
}

/** The seq a job was accepted with, or null (a job added before ordering, or by hand). */
export function orderSeqOf(job: Pick<Job, 'data'>): number | null {
  const seq = (job.data as { orderSeq?: unknown } | undefined)?.orderSeq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

/** KEYS: order set, seq counter; ARGV: queue. Returns the new seq. Run under the enqueue mutex. */
export const REGISTER_LUA = `local seq = redis.call('incr', KEYS[2])
redis.call('zadd', KEYS[1], seq, ARGV[1] .. '/' .. seq)
return seq`;

/**
 * KEYS: the game's order set. ARGV: member, BullMQ prefix, game id, mutex prefix.
 * 1: the member heads the set; 0: an earlier entry is pending; -1: the member is not in the set.
 */
const TURN_LUA = `local key, me, prefix, game, mutexPrefix = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if not redis.call('zscore', key, me) then return -1 end
while true do
  local head = redis.call('zrange', key, 0, 0)[1]
  if head == me then return 1 end
  local queue, seq = string.match(head, '^(.-)/(%d+)$')
  local stale = queue == nil
  if not stale then
    local kind = string.gsub(queue, '%-runtime$', '')
    if redis.call('exists', mutexPrefix .. kind .. ':' .. game) == 1 then return 0 end
    local base = prefix .. ':' .. queue .. ':'
    local data = redis.call('hget', base .. game, 'data')
    if not data then
      stale = true
    else
      local ok, decoded = pcall(cjson.decode, data)
      stale = not ok or type(decoded) ~= 'table' or decoded.orderSeq ~= tonumber(seq)
        or redis.call('zscore', base .. 'completed', game) ~= false
        or redis.call('zscore', base .. 'failed', game) ~= false
    end
  end
  if not stale then return 0 end
  redis.call('zrem', key, head)
end`;

type OrderRedis = {
  rtmOrderTurn(key: string, member: string, bullPrefix: string, gameId: string, mutexPrefix: string): Promise<number>;
};

export interface GameOrder {
  /** Whether the job is its game's oldest pending operation. A job with no place (added by hand, retried by an operator) takes one at the back. */
  isTurn(queue: LifecycleQueue, job: Job): Promise<boolean>;
  /** The job finished for good: its place goes, and the next operation may run. */
  leave(queue: LifecycleQueue, job: Job): Promise<void>;
}

export function createGameOrder(deps: { redis: Redis; bullPrefix: string; mutexPrefix?: string }): GameOrder {
  const keys = orderKeys(deps.bullPrefix);
  const mutexPrefix = deps.mutexPrefix ?? DEFAULT_MUTEX_PREFIX;
  if (typeof (deps.redis as Partial<OrderRedis>).rtmOrderTurn !== 'function') deps.redis.defineCommand('rtmOrderTurn', { numberOfKeys: 1, lua: TURN_LUA });
  const redis = deps.redis as unknown as OrderRedis;
  const gameOf = (job: Job) => job.id ?? '';

  const turn = (queue: LifecycleQueue, job: Job, seq: number) =>
    redis.rtmOrderTurn(keys.ofGame(gameOf(job)), orderMember(queue, seq), deps.bullPrefix, gameOf(job), mutexPrefix);

  /** The job data first, then the entry: an entry never names a seq its job does not carry, or a looker would drop it. */
  async function takePlace(queue: LifecycleQueue, job: Job): Promise<number> {
    const seq = await deps.redis.incr(keys.seq);
    await job.updateData({ ...(job.data as object), orderSeq: seq });
    await deps.redis.zadd(keys.ofGame(gameOf(job)), seq, orderMember(queue, seq));
    return seq;
  }

  return {
    async isTurn(queue, job) {
      const seq = orderSeqOf(job);
      const answer = seq === null ? -1 : await turn(queue, job, seq);
      if (answer !== -1) return answer === 1;
      return (await turn(queue, job, await takePlace(queue, job))) === 1;
    },
    async leave(queue, job) {
      const seq = orderSeqOf(job);
      if (seq !== null) await deps.redis.zrem(keys.ofGame(gameOf(job)), orderMember(queue, seq));
    },
  };
}

/**
 * Entries leave after BullMQ has recorded the finish (these events), not from
 * the processor before it: a worker that dies in between leaves a finished
 * job's entry, which the next looker drops; the other way round, its job would
 * run again with no place and could follow operations accepted after it.
 */
export function leaveOrderWhenFinished(worker: Worker, queue: LifecycleQueue, order: GameOrder, logger: Logger): void {
  const leave = (job: Job) => {
    order
      .leave(queue, job)
      .catch((error: unknown) => logger.warn({ job_id: job.id, err: String(error) }, 'order entry not removed; the next operation drops it'));
  };
  worker.on('completed', leave);
  // `failed` fires for every failed attempt; only a final failure has finishedOn.
  worker.on('failed', (job) => {
    if (job?.finishedOn) leave(job);
  });
}
