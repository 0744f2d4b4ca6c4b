/**
 * The Redis side of the enqueuers' admission (src/jobs/enqueue.ts says the
 * rules): the per-game, per-queue enqueue mutex, taken and decided on in one
 * script (DECIDE_LUA), the dedup marks written at its release, and the
 * deferred operations handed out for promotion.
 *
 * The mutex has a TTL so a dead enqueuer cannot wedge a game. A holder that
 * has been slow for half the TTL gives up before it removes or adds anything
 * (the caller gets an error, i.e. a 503, and may retry: a retry joins).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AdmissionRequest, Decision, EnqueueLock, OrderAdmission, Promotion } from '../../jobs/order-admission.js';
import { EnqueueBusyError } from '../../jobs/order-admission.js';
import type { LifecycleKind, LifecycleQueue, QueueName } from '../../jobs/queues.js';
import type { OrderKeys } from './order-keys.js';
import { DEFAULT_MUTEX_PREFIX, orderKeys } from './order-keys.js';
import { STANDARD_ADD_KEYS, STANDARD_ADD_LUA } from '../../jobs/prepared-add.js';
import { DECIDE_LUA, decideAndAddLua, PROMOTE_LUA, PROMOTED_LUA, RELEASE_LUA } from './order-scripts.js';

type ScriptRedis = {
  rtmDecide(...args: Array<string | number>): Promise<Decision>;
  rtmDecideAdd(...args: Array<string | number | Buffer>): Promise<Decision | ['add_failed', string]>;
  rtmRelease(mutex: string, seenEntry: string, seenRequest: string, token: string, member: string, idleMs: number): Promise<number>;
  rtmPromote(mutex: string, deferred: string, games: string, token: string, ttlMs: number, queue: string, gameId: string, prefix: string): Promise<Promotion>;
  rtmPromoted(deferred: string, games: string, member: string, gameId: string): Promise<number>;
};

export interface OrderAdmissionDeps {
  /** For the mutex; give it a connection that fails fast (no endless retries) so a Redis outage is a quick 503. */
  redis: Redis;
  /** The queues' BullMQ prefix: the order's keys live under it, and the scripts read the queues' jobs. */
  bullPrefix: string;
  /** Key prefix of the enqueue mutexes; the workers' GameOrder must be given the same. */
  mutexPrefix?: string;
  /** How long a caller waits for another caller's enqueue of the same game. */
  mutexWaitMs?: number;
  /** TTL of a mutex: how long a crashed holder can block its game. */
  mutexTtlMs?: number;
  /** RTMANAGER_STREAM_DEDUP_WINDOW_MS: how long an entry id or request id is remembered, and a game's keys outlive its last operation. */
  idleTtlMs?: number;
}

const DEFAULT_IDLE_TTL_MS = 86_400_000;

export class RedisOrderAdmission implements OrderAdmission {
  private readonly mutexPrefix: string;
  private readonly mutexWaitMs: number;
  private readonly mutexTtlMs: number;
  private readonly idleTtlMs: number;
  private readonly keys: OrderKeys;
  private readonly scripts: ScriptRedis;

  constructor(private readonly deps: OrderAdmissionDeps) {
    this.mutexPrefix = deps.mutexPrefix ?? DEFAULT_MUTEX_PREFIX;
    this.mutexWaitMs = deps.mutexWaitMs ?? 5_000;
    this.mutexTtlMs = deps.mutexTtlMs ?? 5_000;
    this.idleTtlMs = deps.idleTtlMs ?? DEFAULT_IDLE_TTL_MS;
    this.keys = orderKeys(deps.bullPrefix);
    // By EVALSHA (ioredis loads each script once), not the script text per call.
    if (typeof (deps.redis as Partial<ScriptRedis>).rtmDecide !== 'function') {
      deps.redis.defineCommand('rtmDecide', { numberOfKeys: 8, lua: DECIDE_LUA });
      deps.redis.defineCommand('rtmDecideAdd', { numberOfKeys: 8 + STANDARD_ADD_KEYS, lua: decideAndAddLua(STANDARD_ADD_LUA) });
      deps.redis.defineCommand('rtmRelease', { numberOfKeys: 3, lua: RELEASE_LUA });
      deps.redis.defineCommand('rtmPromote', { numberOfKeys: 3, lua: PROMOTE_LUA });
      deps.redis.defineCommand('rtmPromoted', { numberOfKeys: 2, lua: PROMOTED_LUA });
    }
    this.scripts = deps.redis as unknown as ScriptRedis;
  }

  async admit({ kind, queue, payload, dedup, add }: AdmissionRequest): Promise<{ decision: Decision; lock: EnqueueLock }> {
    const { keys } = this;
    const jobId = payload.gameId;
    const key = this.mutexKey(kind, jobId);
    const seenEntry = keys.seen(jobId, 'e', dedup?.entryId ?? '-');
    const seenRequest = dedup?.requestId ? keys.seen(jobId, 'r', dedup.requestId) : seenEntry;
    const image = 'imageRef' in payload ? payload.imageRef : '';
    const joiner = JSON.stringify({ sourceRef: payload.sourceRef, opSource: payload.opSource });
    // randomUUID draws from a buffered pool; randomBytes cost a syscall per request.
    const token = randomUUID();
    const decideKeys = [key, keys.ofGame(jobId), keys.seq, keys.deferred(jobId), keys.deferredGames, keys.joins(jobId), seenEntry, seenRequest];
    const decideArgs = [
      token,
      this.mutexTtlMs,
      queue,
      image,
      JSON.stringify(payload),
      this.idleTtlMs,
      jobId,
      joiner,
      dedup ? '1' : '0',
      payload.sourceRef,
      this.deps.bullPrefix,
    ];
    if (add) {
      const answer = await this.acquire(key, () => this.scripts.rtmDecideAdd(...decideKeys, ...add.keys, ...decideArgs, ...add.args));
      if (answer[0] === 'add_failed') throw new Error(`add of job ${jobId}: ${answer[1]}`);
      // Added and released in the script: nothing is left to let go of.
      if (answer[0] === 'added') return { decision: answer, lock: released(key) };
      return { decision: answer, lock: this.lock(key, token, seenEntry, seenRequest) };
    }
    const decision = await this.acquire(key, () => this.scripts.rtmDecide(...decideKeys, ...decideArgs));
    return { decision, lock: this.lock(key, token, seenEntry, seenRequest) };
  }

  async giveBack(gameId: string, member: string): Promise<void> {
    await this.deps.redis.zrem(this.keys.ofGame(gameId), member);
  }

  async claimDeferred(kind: LifecycleKind, queue: LifecycleQueue, gameId: string): Promise<{ promotion: Promotion; lock: EnqueueLock }> {
    const key = this.mutexKey(kind, gameId);
    const token = randomUUID();
    const promotion = await this.scripts.rtmPromote(
      key,
      this.keys.deferred(gameId),
      this.keys.deferredGames,
      token,
      this.mutexTtlMs,
      queue,
      gameId,
      this.deps.bullPrefix,
    );
    // A promotion marks nothing seen: the mutex stands in for both seen keys.
    return { promotion, lock: this.lock(key, token, key, key) };
  }

  async promoted(gameId: string, member: string): Promise<void> {
    await this.scripts.rtmPromoted(this.keys.deferred(gameId), this.keys.deferredGames, member, gameId);
  }

  async deferredQueues(gameId: string): Promise<string[]> {
    const fields = await this.deps.redis.hkeys(this.keys.deferred(gameId));
    const queues = new Set(fields.map((field) => field.slice(0, field.lastIndexOf('/'))));
    if (queues.size === 0) await this.deps.redis.srem(this.keys.deferredGames, gameId);
    return [...queues];
  }

  async hasDeferred(queue: QueueName, gameId: string): Promise<boolean> {
    const fields = await this.deps.redis.hkeys(this.keys.deferred(gameId));
    return fields.some((field) => field.startsWith(`${queue}/`));
  }

  gamesWithDeferred(limit: number): Promise<string[]> {
    return this.deps.redis.srandmember(this.keys.deferredGames, limit);
  }

  private mutexKey(kind: LifecycleKind, gameId: string): string {
    return `${this.mutexPrefix}${kind}:${gameId}`;
  }

  /** Polls `take` until it holds the mutex (jittered backoff), for at most mutexWaitMs. */
  private async acquire<T extends [string, ...unknown[]]>(key: string, take: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.mutexWaitMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const answer = await take();
      if (answer[0] !== 'busy') return answer;
      if (Date.now() > deadline) throw new EnqueueBusyError(`enqueue of ${key} stayed busy for ${this.mutexWaitMs} ms; try again`);
      // Jitter: callers that met at the same moment do not retry in lockstep.
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
    }
  }

  /** The mutex as its holder sees it, from now: acquired when the script answered. */
  private lock(key: string, token: string, seenEntry: string, seenRequest: string): EnqueueLock {
    const acquiredAt = Date.now();
    const halfTtl = this.mutexTtlMs / 2;
    return {
      key,
      check: () => {
        if (Date.now() - acquiredAt > halfTtl) throw new EnqueueBusyError(`enqueue of ${key} took over ${halfTtl} ms; nothing was changed, try again`);
      },
      release: async (mark) => {
        await this.scripts.rtmRelease(key, seenEntry, seenRequest, token, mark, this.idleTtlMs);
      },
    };
  }
}

/** A mutex the admission script already let go of. */
function released(key: string): EnqueueLock {
  return { key, check: () => undefined, release: () => Promise.resolve() };
}
