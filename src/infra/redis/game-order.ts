/**
 * The Redis side of a game's order (src/jobs/game-order.ts says the rules):
 * a sorted set per game and the TURN/CLOSE scripts, which read the enqueue
 * mutexes and the deferred operations the enqueuers' admission writes.
 */
import type { Redis } from 'ioredis';
import type { GameOrder, Joiner, OrderedJob, Turn } from '../../jobs/game-order.js';
import { orderSeqOf } from '../../jobs/game-order.js';
import type { LifecycleQueue } from '../../jobs/queues.js';
import type { OrderKeys } from './order-keys.js';
import { DEFAULT_MUTEX_PREFIX, orderKeys, orderMember } from './order-keys.js';
import { CLOSE_LUA, TURN_LUA } from './order-scripts.js';

/** How long a closed operation's marker outlives its close: longer than BullMQ takes to record the finish. */
const CLOSED_MARKER_MS = 3_600_000;

type OrderRedis = {
  rtmOrderTurn(key: string, deferredKey: string, member: string, bullPrefix: string, gameId: string, mutexPrefix: string): Promise<number>;
  rtmOrderClose(joinsKey: string, closedKey: string, member: string, ttlMs: number, queue: string, seq: number): Promise<string>;
};

export interface GameOrderDeps {
  redis: Redis;
  bullPrefix: string;
  /** The enqueuers' mutex prefix: a looker never drops a head while its mutex is held. */
  mutexPrefix?: string;
  /** RTMANAGER_STREAM_DEDUP_WINDOW_MS: a game's keys live no longer. */
  idleTtlMs?: number;
}

export function createGameOrder(deps: GameOrderDeps): GameOrder {
  return new RedisGameOrder(deps);
}

export class RedisGameOrder implements GameOrder {
  private readonly keys: OrderKeys;
  private readonly closedMarkerMs: number;
  private readonly mutexPrefix: string;
  private readonly scripts: OrderRedis;

  constructor(private readonly deps: GameOrderDeps) {
    this.keys = orderKeys(deps.bullPrefix);
    // Never longer than the game's other keys live (contract §14).
    this.closedMarkerMs = Math.min(CLOSED_MARKER_MS, deps.idleTtlMs ?? CLOSED_MARKER_MS);
    this.mutexPrefix = deps.mutexPrefix ?? DEFAULT_MUTEX_PREFIX;
    if (typeof (deps.redis as Partial<OrderRedis>).rtmOrderTurn !== 'function') {
      deps.redis.defineCommand('rtmOrderTurn', { numberOfKeys: 2, lua: TURN_LUA });
      deps.redis.defineCommand('rtmOrderClose', { numberOfKeys: 2, lua: CLOSE_LUA });
    }
    this.scripts = deps.redis as unknown as OrderRedis;
  }

  async turn(queue: LifecycleQueue, job: OrderedJob): Promise<Turn> {
    const seq = orderSeqOf(job);
    let answer = seq === null ? -1 : await this.ask(queue, job, seq);
    if (answer === -1) answer = await this.ask(queue, job, await this.takePlace(queue, job));
    if (answer === 1) return { turn: 'go' };
    if (answer === 3) return { turn: 'moot' };
    return { turn: 'wait', promote: answer === 2 };
  }

  async leave(queue: LifecycleQueue, job: OrderedJob): Promise<void> {
    const seq = orderSeqOf(job);
    if (seq !== null) await this.deps.redis.zrem(this.keys.ofGame(gameOf(job)), orderMember(queue, seq));
  }

  async close(queue: LifecycleQueue, job: OrderedJob): Promise<Joiner[]> {
    const seq = orderSeqOf(job);
    if (seq === null) return [];
    const member = orderMember(queue, seq);
    const list = await this.scripts.rtmOrderClose(this.keys.joins(gameOf(job)), this.keys.closed(gameOf(job)), member, this.closedMarkerMs, queue, seq);
    return parseJoiners(list);
  }

  private ask(queue: LifecycleQueue, job: OrderedJob, seq: number): Promise<number> {
    const gameId = gameOf(job);
    return this.scripts.rtmOrderTurn(
      this.keys.ofGame(gameId),
      this.keys.deferred(gameId),
      orderMember(queue, seq),
      this.deps.bullPrefix,
      gameId,
      this.mutexPrefix,
    );
  }

  /** The job data first, then the entry: an entry never names a seq its job does not carry, or a looker would drop it. */
  private async takePlace(queue: LifecycleQueue, job: OrderedJob): Promise<number> {
    const seq = await this.deps.redis.incr(this.keys.seq);
    await job.updateData({ ...(job.data as object), orderSeq: seq });
    await this.deps.redis.zadd(this.keys.ofGame(gameOf(job)), seq, orderMember(queue, seq));
    return seq;
  }
}

function gameOf(job: OrderedJob): string {
  return job.id ?? '';
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
