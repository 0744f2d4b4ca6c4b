/**
 * Enqueue with the game id as the job id — without BullMQ's silent drops.
 *
 * BullMQ ignores an add whose id exists in any state, and "check → remove →
 * add" from several callers at once removes each other's fresh jobs
 * (stack-facts: 875 adds reported, 591 ran). So the whole decision runs
 * under a short per-game, per-queue enqueue mutex in Redis:
 *
 *   pending job (waiting, active, delayed, …)  → join it, or 409 on another image
 *   finished job (completed, failed)           → remove it, add the new one
 *   no job                                     → add
 *
 * Only enqueuers take the mutex; the worker never removes jobs, and retention
 * only trims finished ones, so nothing else can remove a job we just added.
 * Every caller therefore learns which job carries its request: the job id,
 * and the source ref of the request that created that job (`carrier`).
 *
 * The mutex has a TTL so a dead enqueuer cannot wedge a game. A holder that
 * has been slow for half the TTL gives up before it removes or adds anything
 * (the caller gets an error, i.e. a 503, and may retry: a retry joins), so an
 * expired mutex never lets two callers mutate the same job id at once.
 *
 * A job that is added also takes its place in its game's order (game-order.ts)
 * under the mutex, before the add: for a fresh game id in the very script that
 * takes the mutex, so that path stays one script, one add, one release.
 */
import { randomUUID } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/ports.js';
import type { LifecycleKind, LifecyclePayload, QueueName } from './queues.js';
import { COMPARE_AND_DELETE } from '../infra/redis/compare-and-delete.js';
import { QUEUE_OF } from './queues.js';
import { DEFAULT_MUTEX_PREFIX, orderKeys, orderMember, REGISTER_LUA } from './game-order.js';

export type EnqueueOutcome =
  | {
      kind: 'enqueued' | 'joined';
      jobId: string;
      /** The job's BullMQ state when the request was attached to it. */
      state: string;
      /** Source ref of the request that created the job carrying this one. */
      carrier: string;
    }
  | { kind: 'conflict'; jobId: string; pendingImageRef: string };

export interface EnqueuerDeps {
  queues: Record<QueueName, Queue>;
  /** For the mutex; give it a connection that fails fast (no endless retries) so a Redis outage is a quick 503. */
  redis: Redis;
  logger: Logger;
  attempts: number;
  backoffMs: number;
  /** Key prefix of the enqueue mutexes; the workers' GameOrder must be given the same. */
  mutexPrefix?: string;
  /** How long a caller waits for another caller's enqueue of the same game. */
  mutexWaitMs?: number;
  /** TTL of a mutex: how long a crashed holder can block its game. */
  mutexTtlMs?: number;
}

export interface Enqueuer {
  enqueue(kind: LifecycleKind, payload: LifecyclePayload): Promise<EnqueueOutcome>;
  enqueueReconcile(): Promise<void>;
}

/** Thrown when the per-game mutex could not be had or was held too long: nothing was added; retrying is safe. */
export class EnqueueBusyError extends Error {
  override readonly name = 'EnqueueBusyError';
}

const PENDING_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);
type MutexRedis = {
  rtmAcquireMutex(key: string, jobKey: string, orderKey: string, seqKey: string, token: string, ttlMs: number, queue: string): Promise<number>;
  rtmReleaseMutex(key: string, token: string): Promise<number>;
  rtmOrderRegister(orderKey: string, seqKey: string, queue: string): Promise<number>;
};
/**
 * -1: held by another; 0: the job's hash exists (read after the SET, under the
 * mutex); else the id is free and the request already holds its place in the
 * game's order: the returned seq (REGISTER_LUA inlined).
 */
const ACQUIRE = `if not redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return -1 end
if redis.call('exists', KEYS[2]) == 1 then return 0 end
local seq = redis.call('incr', KEYS[4])
redis.call('zadd', KEYS[3], seq, ARGV[3] .. '/' .. seq)
return seq`;

/** Finished jobs stay a day (or the newest N) for Bull Board; the poll API falls back to Postgres after. */
export const RETENTION = { removeOnComplete: { age: 86_400, count: 1_000 }, removeOnFail: { age: 86_400, count: 5_000 } } as const;

export function createEnqueuer(deps: EnqueuerDeps): Enqueuer {
  const mutexPrefix = deps.mutexPrefix ?? DEFAULT_MUTEX_PREFIX;
  const mutexWaitMs = deps.mutexWaitMs ?? 5_000;
  const mutexTtlMs = deps.mutexTtlMs ?? 5_000;
  // By EVALSHA (ioredis loads each script once), not the script text per call.
  if (typeof (deps.redis as Partial<MutexRedis>).rtmAcquireMutex !== 'function') {
    deps.redis.defineCommand('rtmAcquireMutex', { numberOfKeys: 4, lua: ACQUIRE });
    deps.redis.defineCommand('rtmReleaseMutex', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
    deps.redis.defineCommand('rtmOrderRegister', { numberOfKeys: 2, lua: REGISTER_LUA });
  }
  const mutexRedis = deps.redis as unknown as MutexRedis;

  /**
   * Runs `body` holding the mutex; `body` calls `stillHeld()` before each
   * write. The acquiring SET, an EXISTS of the job's hash and, when it is
   * free, the order place are one script, one round trip, so `body` learns
   * whether the job id is free without a read of its own: the common case (a
   * fresh game id) is then one add. `freshSeq` is null when the job may exist.
   */
  async function withMutex<T>(key: string, place: OrderPlace, body: (stillHeld: () => void, freshSeq: number | null) => Promise<T>): Promise<T> {
    // randomUUID draws from a buffered pool; randomBytes cost a syscall per request.
    const token = randomUUID();
    const deadline = Date.now() + mutexWaitMs;
    let acquired: number;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      acquired = await mutexRedis.rtmAcquireMutex(key, place.jobKey, place.orderKey, place.seqKey, token, mutexTtlMs, place.queue);
      if (acquired >= 0) break;
      if (Date.now() > deadline) throw new EnqueueBusyError(`enqueue of ${key} stayed busy for ${mutexWaitMs} ms; try again`);
      // Jitter: callers that met at the same moment do not retry in lockstep.
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
    }
    const acquiredAt = Date.now();
    const stillHeld = () => {
      // Half the TTL is the margin for the clock skew and the write itself.
      if (Date.now() - acquiredAt > mutexTtlMs / 2)
        throw new EnqueueBusyError(`enqueue of ${key} took over ${mutexTtlMs / 2} ms; nothing was changed, try again`);
    };
    try {
      return await body(stillHeld, acquired > 0 ? acquired : null);
    } finally {
      await mutexRedis.rtmReleaseMutex(key, token).catch((error: unknown) => deps.logger.warn({ key, err: String(error) }, 'enqueue mutex release failed'));
    }
  }

  return {
    async enqueue(kind, payload) {
      const queueName = QUEUE_OF[kind];
      const queue = deps.queues[queueName];
      const jobId = payload.gameId;
      const keys = orderKeys(queue.opts.prefix ?? 'bull');
      const place: OrderPlace = { queue: queueName, jobKey: queue.toKey(jobId), orderKey: keys.ofGame(jobId), seqKey: keys.seq };
      return withMutex(`${mutexPrefix}${kind}:${jobId}`, place, async (stillHeld, freshSeq) => {
        let seq = freshSeq;
        const existing = seq === null ? ((await queue.getJob(jobId)) as Job<LifecyclePayload> | undefined) : undefined;
        if (existing) {
          const state = await existing.getState();
          // What was read is only true while the mutex is: a stale read must not decide either.
          stillHeld();
          if (PENDING_STATES.has(state)) {
            const pendingImage = imageOf(existing.data);
            if (pendingImage !== imageOf(payload)) return { kind: 'conflict', jobId, pendingImageRef: pendingImage ?? '' };
            return { kind: 'joined', jobId, state, carrier: existing.data.sourceRef };
          }
        }
        // A new job: its place first (lookers leave it alone while we hold the mutex).
        seq ??= await mutexRedis.rtmOrderRegister(place.orderKey, place.seqKey, queueName);
        try {
          if (existing) {
            // Finished (or in no list at all): free the id for the new request.
            await existing.remove().catch((error: unknown) => {
              if (!/could not be found|Missing key|does not exist/i.test(String(error))) throw error;
            });
          }
          stillHeld();
          await queue.add(
            kind,
            { ...payload, orderSeq: seq },
            {
              jobId,
              attempts: deps.attempts,
              backoff: { type: 'exponential', delay: deps.backoffMs },
              ...RETENTION,
            },
          );
        } catch (error) {
          // No job carries the place: give it back now rather than wait for a looker to drop it.
          await deps.redis.zrem(place.orderKey, orderMember(queueName, seq)).catch(() => undefined);
          throw error;
        }
        return { kind: 'enqueued', jobId, state: 'waiting', carrier: payload.sourceRef };
      });
    },

    async enqueueReconcile() {
      await deps.queues.reconcile.add('reconcile', {}, { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } });
    },
  };
}

/** Where a job and its order place live. */
interface OrderPlace {
  queue: string;
  jobKey: string;
  orderKey: string;
  seqKey: string;
}

/** Stop and restart carry no image: two of them are the same request. */
function imageOf(payload: LifecyclePayload): string | undefined {
  return 'imageRef' in payload ? payload.imageRef : undefined;
}
