/**
 * Enqueue with the game id as the job id — without BullMQ's silent drops.
 *
 * BullMQ ignores an add whose id exists in any state, and "check → remove →
 * add" from several callers at once removes each other's fresh jobs
 * (stack-facts: 875 adds reported, 591 ran). So the whole decision runs
 * under a short per-game enqueue mutex in Redis:
 *
 *   pending job (waiting, active, delayed, …)  → join it, or 409 on another image
 *   finished job (completed, failed)           → remove it, add the new one
 *   no job                                     → add
 *
 * Only enqueuers take the mutex; the worker never removes jobs, and retention
 * only trims finished ones, so nothing else can remove a job we just added.
 * Every caller therefore learns which job carries its request.
 */
import { randomBytes } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/ports.js';
import type { LifecycleKind, LifecyclePayload, QueueName } from './queues.js';
import { QUEUE_OF } from './queues.js';

export type EnqueueOutcome =
  | { kind: 'enqueued' | 'joined'; jobId: string; state: string }
  | { kind: 'conflict'; jobId: string; pendingImageRef: string };

export interface EnqueuerDeps {
  queues: Record<QueueName, Queue>;
  redis: Redis;
  logger: Logger;
  attempts: number;
  backoffMs: number;
  /** Key prefix of the enqueue mutexes. */
  mutexPrefix?: string;
  /** How long a caller waits for another caller's enqueue of the same game. */
  mutexWaitMs?: number;
}

export interface Enqueuer {
  enqueue(kind: LifecycleKind, payload: LifecyclePayload): Promise<EnqueueOutcome>;
  enqueueReconcile(): Promise<void>;
}

const PENDING_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);
const MUTEX_TTL_MS = 5_000;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Finished jobs stay a day (or the newest N) for Bull Board; the poll API falls back to Postgres after. */
export const RETENTION = { removeOnComplete: { age: 86_400, count: 1_000 }, removeOnFail: { age: 86_400, count: 5_000 } } as const;

export function createEnqueuer(deps: EnqueuerDeps): Enqueuer {
  const mutexPrefix = deps.mutexPrefix ?? 'rtmanager:enqueue:';
  const mutexWaitMs = deps.mutexWaitMs ?? 5_000;

  async function withMutex<T>(key: string, body: () => Promise<T>): Promise<T> {
    const token = randomBytes(16).toString('base64url');
    const deadline = Date.now() + mutexWaitMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if ((await deps.redis.set(key, token, 'PX', MUTEX_TTL_MS, 'NX')) === 'OK') break;
      if (Date.now() > deadline) throw new Error(`enqueue of ${key} is busy; try again`);
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
    }
    try {
      return await body();
    } finally {
      await deps.redis.eval(RELEASE, 1, key, token).catch((error: unknown) => deps.logger.warn({ key, err: String(error) }, 'enqueue mutex release failed'));
    }
  }

  return {
    async enqueue(kind, payload) {
      const queue = deps.queues[QUEUE_OF[kind]];
      const jobId = payload.gameId;
      return withMutex(`${mutexPrefix}${kind}:${jobId}`, async () => {
        const existing = (await queue.getJob(jobId)) as Job<LifecyclePayload> | undefined;
        if (existing) {
          const state = await existing.getState();
          if (PENDING_STATES.has(state)) {
            const pendingImage = 'imageRef' in existing.data ? existing.data.imageRef : undefined;
            const askedImage = 'imageRef' in payload ? payload.imageRef : undefined;
            if (pendingImage !== askedImage) return { kind: 'conflict', jobId, pendingImageRef: pendingImage ?? '' };
            return { kind: 'joined', jobId, state };
          }
          // Finished (or gone between the two reads): free the id for the new request.
          await existing.remove().catch((error: unknown) => {
            if (!/could not be found|Missing key/i.test(String(error))) throw error;
          });
        }
        await queue.add(kind, payload, {
          jobId,
          attempts: deps.attempts,
          backoff: { type: 'exponential', delay: deps.backoffMs },
          ...RETENTION,
        });
        return { kind: 'enqueued', jobId, state: 'waiting' };
      });
    },

    async enqueueReconcile() {
      await deps.queues.reconcile.add('reconcile', {}, { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } });
    },
  };
}
