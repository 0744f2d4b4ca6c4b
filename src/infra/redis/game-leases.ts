import type { Redis } from 'ioredis';
import type { GameLeases } from '../../domain/ports.js';
import { COMPARE_AND_DELETE } from './compare-and-delete.js';

/**
 * Takes a free lease and hands out the next fence, in one script so that no
 * holder ever has a lease without a fence or two holders the same fence.
 *
 * Fences must never go back, and Redis can (contract §14): a restart without
 * persistence or a FLUSHALL loses the counter, a restore of an older snapshot,
 * AOF `everysec` losing its last second, or a failover to a lagging replica
 * leaves it present but older. A counter that went back hands out fences below
 * `runtime_records.lease_fence`: every write of every later holder is refused,
 * and two holders may get one number. So every fence is
 *
 *     max(counter + 1, Redis's clock in microseconds)
 *
 * and the counter is set to it. Each fence handed out is then at most "its
 * time in µs" plus the acquisitions that came within the same microseconds;
 * acquisitions are scripts Redis runs one at a time, each more than a µs, so
 * that excess stays at 0 in practice (measured on Redis 7.0 here: 50,000
 * acquisitions pipelined back to back on one counter, none took the
 * `counter + 1` branch); the counter covers it when it does not.
 * Any later acquisition — on whatever copy of the counter, or none — comes at
 * a later time, and its clock floor is above every fence handed out before,
 * as long as the Redis host's clock does not step back. When it does (NTP
 * stepping it, a failover to a host whose clock is behind), the domain's
 * second line of defence takes over: a write refused for its fence raises the
 * counter above the stored fence (`raiseFenceAbove`), so the next attempt gets
 * past it. `sec * 1e6 + usec` is about 1.8e15 today, below 2^53 (exact in a
 * Lua double and a JavaScript number) until the year 2255; the guard refuses a
 * fence it could not hold exactly. A counter started by an earlier version at
 * `unix_ms * 1000` is below this floor already: max() absorbs it.
 *
 * Since the clock floor covers a counter that is missing, the counter need not
 * live for ever: each acquisition gives it the idle TTL (contract §14, keys kept
 * for a game expire once it had no operation for the dedup window).
 *
 * KEYS[1] lease, KEYS[2] fence counter; ARGV[1] token, ARGV[2] lease TTL in ms,
 * ARGV[3] the counter's idle TTL in ms.
 */
const ACQUIRE = `if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local now = redis.call('time')
local fence = tonumber(now[1]) * 1000000 + tonumber(now[2])
local counter = tonumber(redis.call('get', KEYS[2]) or '0') or 0
if counter + 1 > fence then fence = counter + 1 end
if fence >= 9007199254740992 then
  redis.call('del', KEYS[1])
  return redis.error_reply('fence counter ' .. KEYS[2] .. ' reached 2^53')
end
redis.call('set', KEYS[2], string.format('%.0f', fence), 'PX', ARGV[3])
return fence`;

/**
 * Never lowers the counter: a fence asked to be raised above one it already
 * passed changes nothing but the idle TTL. 1 when it raised, 0 when not.
 * KEYS[1] fence counter; ARGV[1] the fence the next acquisition must exceed,
 * ARGV[2] the counter's idle TTL in ms.
 */
const RAISE = `local counter = tonumber(redis.call('get', KEYS[1]) or '0') or 0
local above = tonumber(ARGV[1])
local raised = 0
if above > counter then
  counter = above
  raised = 1
end
redis.call('set', KEYS[1], string.format('%.0f', counter), 'PX', ARGV[2])
return raised`;

/** Extends the TTL only while the key still holds the caller's token. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** Contract §14's default dedup window (RTMANAGER_STREAM_DEDUP_WINDOW_MS): how long a game's keys outlive its last operation. */
export const DEFAULT_IDLE_TTL_MS = 86_400_000;

/**
 * Per game: `{prefix}lease:{game_id}` holds the holder's token with a TTL;
 * `{prefix}fence:{game_id}` is the fence counter, kept for `idleTtlMs` after
 * the game's last acquisition.
 */
export class RedisGameLeases implements GameLeases {
  private readonly prefix: string;
  private readonly idleTtlMs: number;

  constructor(private readonly opts: { redis: Redis; prefix?: string; idleTtlMs?: number }) {
    if (!opts.redis) throw new Error('RedisGameLeases: redis is required');
    this.prefix = opts.prefix ?? 'rtmanager:';
    this.idleTtlMs = opts.idleTtlMs ?? DEFAULT_IDLE_TTL_MS;
    if (!Number.isSafeInteger(this.idleTtlMs) || this.idleTtlMs <= 0)
      throw new Error(`RedisGameLeases: idleTtlMs must be a positive integer, not ${this.idleTtlMs}`);
  }

  key(gameId: string): string {
    return `${this.prefix}lease:${gameId}`;
  }

  fenceKey(gameId: string): string {
    return `${this.prefix}fence:${gameId}`;
  }

  async tryAcquire(gameId: string, token: string, ttlMs: number): Promise<number | null> {
    const fence = await this.opts.redis.eval(ACQUIRE, 2, this.key(gameId), this.fenceKey(gameId), token, ttlMs, this.idleTtlMs);
    // A Lua false comes back as a nil reply.
    return typeof fence === 'number' ? fence : null;
  }

  async raiseFenceAbove(gameId: string, fence: number): Promise<boolean> {
    if (!Number.isSafeInteger(fence) || fence < 0) throw new Error(`raiseFenceAbove: ${fence} is not a fence`);
    return (await this.opts.redis.eval(RAISE, 1, this.fenceKey(gameId), fence, this.idleTtlMs)) === 1;
  }

  async renew(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.opts.redis.eval(RENEW, 1, this.key(gameId), token, ttlMs)) === 1;
  }

  async release(gameId: string, token: string): Promise<boolean> {
    return (await this.opts.redis.eval(COMPARE_AND_DELETE, 1, this.key(gameId), token)) === 1;
  }
}
