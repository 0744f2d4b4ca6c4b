/**
 * Enqueue with the game id as the job id — without BullMQ's silent drops, and
 * with the last accepted request winning (contract §14).
 *
 * BullMQ ignores an add whose id exists in any state, and "check → remove →
 * add" from several callers at once removes each other's fresh jobs
 * (stack-facts: 875 adds reported, 591 ran). So the whole decision runs
 * under a short per-game, per-queue enqueue mutex in Redis, in one script
 * (order-scripts.ts DECIDE_LUA) that also takes the request's place in its
 * game's order (game-order.ts):
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
 * The mutex has a TTL so a dead enqueuer cannot wedge a game. A holder that
 * has been slow for half the TTL gives up before it removes or adds anything
 * (the caller gets an error, i.e. a 503, and may retry: a retry joins).
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/ports.js';
import type { LifecycleKind, LifecyclePayload, QueueName } from './queues.js';
import { QUEUE_OF } from './queues.js';
import { DEFAULT_MUTEX_PREFIX, orderKeys } from './game-order.js';
import { DECIDE_LUA, PROMOTE_LUA, PROMOTED_LUA, RELEASE_LUA } from './order-scripts.js';

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

/** A stream entry's identity, for at-most-once (contract §14). */
export interface DedupKeys {
  entryId: string;
  requestId?: string;
}

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
  /** RTMANAGER_STREAM_DEDUP_WINDOW_MS: how long an entry id or request id is remembered, and a game's keys outlive its last operation. */
  idleTtlMs?: number;
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

/** Thrown when the per-game mutex could not be had or was held too long: nothing was added; retrying is safe. */
export class EnqueueBusyError extends Error {
  override readonly name = 'EnqueueBusyError';
}

type Decision =
  ['busy'] | ['duplicate', string] | ['conflict', string] | ['joined', string, string, '0' | '1'] | ['deferred', string] | ['add', string, '0' | '1'];
type Promotion = ['none'] | ['busy'] | ['wait'] | ['again'] | ['add', string, string, '0' | '1'];
type ScriptRedis = {
  rtmDecide(...args: Array<string | number>): Promise<Decision>;
  rtmRelease(mutex: string, seenEntry: string, seenRequest: string, token: string, member: string, idleMs: number): Promise<number>;
  rtmPromote(mutex: string, deferred: string, games: string, token: string, ttlMs: number, queue: string, gameId: string, prefix: string): Promise<Promotion>;
  rtmPromoted(deferred: string, games: string, member: string, gameId: string): Promise<number>;
};

/** Finished jobs stay a day (or the newest N) for Bull Board; the poll API falls back to Postgres after. */
export const RETENTION = { removeOnComplete: { age: 86_400, count: 1_000 }, removeOnFail: { age: 86_400, count: 5_000 } } as const;

const DEFAULT_IDLE_TTL_MS = 86_400_000;
const KIND_OF_QUEUE = Object.fromEntries(Object.entries(QUEUE_OF).map(([kind, queue]) => [queue, kind])) as Record<string, LifecycleKind>;

export function createEnqueuer(deps: EnqueuerDeps): Enqueuer {
  const mutexPrefix = deps.mutexPrefix ?? DEFAULT_MUTEX_PREFIX;
  const mutexWaitMs = deps.mutexWaitMs ?? 5_000;
  const mutexTtlMs = deps.mutexTtlMs ?? 5_000;
  const idleTtlMs = deps.idleTtlMs ?? DEFAULT_IDLE_TTL_MS;
  // By EVALSHA (ioredis loads each script once), not the script text per call.
  if (typeof (deps.redis as Partial<ScriptRedis>).rtmDecide !== 'function') {
    deps.redis.defineCommand('rtmDecide', { numberOfKeys: 8, lua: DECIDE_LUA });
    deps.redis.defineCommand('rtmRelease', { numberOfKeys: 3, lua: RELEASE_LUA });
    deps.redis.defineCommand('rtmPromote', { numberOfKeys: 3, lua: PROMOTE_LUA });
    deps.redis.defineCommand('rtmPromoted', { numberOfKeys: 2, lua: PROMOTED_LUA });
  }
  const scripts = deps.redis as unknown as ScriptRedis;
  const bullPrefix = deps.queues['start-runtime'].opts.prefix ?? 'bull';
  const keys = orderKeys(bullPrefix);
  const mutexKey = (kind: LifecycleKind, gameId: string) => `${mutexPrefix}${kind}:${gameId}`;
  const jobOptions = { attempts: deps.attempts, backoff: { type: 'exponential', delay: deps.backoffMs }, ...RETENTION };

  /** Polls `take` until it holds the mutex (jittered backoff), for at most mutexWaitMs. */
  async function acquire<T extends [string, ...unknown[]]>(key: string, take: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + mutexWaitMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const answer = await take();
      if (answer[0] !== 'busy') return answer;
      if (Date.now() > deadline) throw new EnqueueBusyError(`enqueue of ${key} stayed busy for ${mutexWaitMs} ms; try again`);
      // Jitter: callers that met at the same moment do not retry in lockstep.
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
    }
  }

  /** What was read is only true while the mutex is: a holder slow for half its TTL changes nothing. */
  function stillHeld(key: string, since: number): void {
    if (Date.now() - since > mutexTtlMs / 2) throw new EnqueueBusyError(`enqueue of ${key} took over ${mutexTtlMs / 2} ms; nothing was changed, try again`);
  }

  /** Frees the id (a finished job holds it) and adds the job, under the mutex. */
  async function addJob(
    queue: Queue,
    kind: LifecycleKind,
    gameId: string,
    data: LifecyclePayload & { orderSeq: number },
    finishedHolds: boolean,
    check: () => void,
  ) {
    if (finishedHolds) {
      const finished = await queue.getJob(gameId);
      check();
      await finished?.remove().catch((error: unknown) => {
        if (!/could not be found|Missing key|does not exist/i.test(String(error))) throw error;
      });
    }
    check();
    await queue.add(kind, data, { jobId: gameId, ...jobOptions });
  }

  async function enqueue(kind: LifecycleKind, payload: LifecyclePayload, opts: { dedup?: DedupKeys } = {}): Promise<EnqueueOutcome> {
    const queueName = QUEUE_OF[kind];
    const queue = deps.queues[queueName];
    const jobId = payload.gameId;
    const key = mutexKey(kind, jobId);
    const dedup = opts.dedup;
    const seenEntry = keys.seen(jobId, 'e', dedup?.entryId ?? '-');
    const seenRequest = dedup?.requestId ? keys.seen(jobId, 'r', dedup.requestId) : seenEntry;
    const image = 'imageRef' in payload ? payload.imageRef : '';
    const joiner = JSON.stringify({ sourceRef: payload.sourceRef, opSource: payload.opSource });
    // randomUUID draws from a buffered pool; randomBytes cost a syscall per request.
    const token = randomUUID();
    const decision = await acquire(key, () =>
      scripts.rtmDecide(
        key,
        keys.ofGame(jobId),
        keys.seq,
        keys.deferred(jobId),
        keys.deferredGames,
        keys.joins(jobId),
        seenEntry,
        seenRequest,
        token,
        mutexTtlMs,
        queueName,
        image,
        JSON.stringify(payload),
        idleTtlMs,
        jobId,
        joiner,
        dedup ? '1' : '0',
        payload.sourceRef,
        bullPrefix,
      ),
    );
    const acquiredAt = Date.now();
    let mark = '';
    try {
      switch (decision[0]) {
        case 'busy':
          throw new EnqueueBusyError(`enqueue of ${key} stayed busy`);
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
        case 'add': {
          const seq = seqOf(decision[1]);
          try {
            await addJob(queue, kind, jobId, { ...payload, orderSeq: seq }, decision[2] === '1', () => stillHeld(key, acquiredAt));
          } catch (error) {
            // No job carries the place: give it back now rather than wait for a looker to drop it.
            await deps.redis.zrem(keys.ofGame(jobId), decision[1]).catch(() => undefined);
            throw error;
          }
          if (dedup) mark = decision[1];
          return { kind: 'enqueued', jobId, seq, state: 'waiting', carrier: payload.sourceRef };
        }
      }
    } finally {
      await scripts
        .rtmRelease(key, seenEntry, seenRequest, token, mark, idleTtlMs)
        .catch((error: unknown) => deps.logger.warn({ key, err: String(error) }, 'enqueue mutex release failed'));
    }
  }

  /** The oldest deferred operation of one queue, if its job id is free now. */
  async function promoteQueue(queueName: string, gameId: string): Promise<void> {
    const kind = KIND_OF_QUEUE[queueName];
    if (!kind) return;
    const queue = deps.queues[QUEUE_OF[kind]];
    const key = mutexKey(kind, gameId);
    for (let round = 0; round < 3; round++) {
      const token = randomUUID();
      const answer = await scripts.rtmPromote(key, keys.deferred(gameId), keys.deferredGames, token, mutexTtlMs, queueName, gameId, bullPrefix);
      if (answer[0] === 'again') continue;
      // busy: an enqueuer holds the game; it or the next looker or sweep promotes.
      if (answer[0] !== 'add') return;
      const acquiredAt = Date.now();
      try {
        const data = JSON.parse(answer[2]) as LifecyclePayload & { orderSeq: number };
        await addJob(queue, kind, gameId, data, answer[3] === '1', () => stillHeld(key, acquiredAt));
        await scripts.rtmPromoted(keys.deferred(gameId), keys.deferredGames, answer[1], gameId);
      } finally {
        await scripts.rtmRelease(key, key, key, token, '', idleTtlMs).catch(() => undefined);
      }
      return;
    }
  }

  async function promote(gameId: string): Promise<void> {
    const fields = await deps.redis.hkeys(keys.deferred(gameId));
    const queues = new Set(fields.map((field) => field.slice(0, field.lastIndexOf('/'))));
    if (queues.size === 0) await deps.redis.srem(keys.deferredGames, gameId);
    for (const queueName of queues) await promoteQueue(queueName, gameId);
  }

  return {
    enqueue,
    promote,
    async hasDeferred(queue, gameId) {
      const fields = await deps.redis.hkeys(keys.deferred(gameId));
      return fields.some((field) => field.startsWith(`${queue}/`));
    },
    async promoteAll(limit = 100) {
      const games = await deps.redis.srandmember(keys.deferredGames, limit);
      for (const gameId of games) await promote(gameId);
      return games.length;
    },
    async enqueueReconcile() {
      await deps.queues.reconcile.add('reconcile', {}, { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } });
    },
  };
}

function seqOf(member: string): number {
  return Number(member.slice(member.lastIndexOf('/') + 1));
}
