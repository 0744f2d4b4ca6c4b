import type { Redis } from 'ioredis';
import type { GameLeases } from '../../domain/ports.js';
import { COMPARE_AND_DELETE } from './compare-and-delete.js';

/**
 * Takes a free lease and hands out the next fence, in one script so that no
 * holder ever has a lease without a fence or two holders the same fence.
 *
 * The counter has no TTL, yet Redis may still lose it (a Redis without AOF
 * restarted, an eviction): a counter started again at 1 would hand out fences
 * lower than those already stored in `runtime_records.lease_fence`, and every
 * write of every later holder would be refused. So a missing counter starts at
 * Redis's clock, `unix_ms * 1000`: a counter initialised at time T0 and
 * incremented n times is below `now_ms * 1000` as long as the game averaged
 * fewer than 1,000 acquisitions per millisecond since T0, so the new counter
 * starts above every fence handed out before (given the Redis host's clock does
 * not step back). `unix_ms * 1000` stays below 2^53 until the year 2255; the
 * guard below refuses a fence a JavaScript number could not hold exactly.
 *
 * KEYS[1] lease, KEYS[2] fence counter; ARGV[1] token, ARGV[2] TTL in ms.
 */
const ACQUIRE = `if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
if redis.call('exists', KEYS[2]) == 0 then
  local now = redis.call('time')
  local unixMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  redis.call('set', KEYS[2], string.format('%.0f', unixMs * 1000))
end
local fence = redis.call('incr', KEYS[2])
if fence >= 9007199254740992 then
  redis.call('del', KEYS[1])
  return redis.error_reply('fence counter ' .. KEYS[2] .. ' reached 2^53')
end
return fence`;

/** Extends the TTL only while the key still holds the caller's token. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Per game: `{prefix}lease:{game_id}` holds the holder's token with a TTL;
 * `{prefix}fence:{game_id}` is the fence counter, without a TTL (it must
 * outlive every lease).
 */
export class RedisGameLeases implements GameLeases {
  private readonly prefix: string;

  constructor(private readonly opts: { redis: Redis; prefix?: string }) {
    if (!opts.redis) throw new Error('RedisGameLeases: redis is required');
    this.prefix = opts.prefix ?? 'rtmanager:';
  }

  key(gameId: string): string {
    return `${this.prefix}lease:${gameId}`;
  }

  fenceKey(gameId: string): string {
    return `${this.prefix}fence:${gameId}`;
  }

  async tryAcquire(gameId: string, token: string, ttlMs: number): Promise<number | null> {
    const fence = await this.opts.redis.eval(ACQUIRE, 2, this.key(gameId), this.fenceKey(gameId), token, ttlMs);
    // A Lua false comes back as a nil reply.
    return typeof fence === 'number' ? fence : null;
  }

  async renew(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.opts.redis.eval(RENEW, 1, this.key(gameId), token, ttlMs)) === 1;
  }

  async release(gameId: string, token: string): Promise<boolean> {
    return (await this.opts.redis.eval(COMPARE_AND_DELETE, 1, this.key(gameId), token)) === 1;
  }
}
