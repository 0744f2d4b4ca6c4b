import type { Redis } from 'ioredis';
import type { GameLeases } from '../../domain/ports.js';

/** Takes a free lease (SET NX PX), or renews one this token already holds. */
const ACQUIRE = `local v = redis.call('get', KEYS[1])
if v == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return 1`;

/** Deletes the key only while it still holds the caller's token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** One key per game, `{prefix}lease:{game_id}`, holding the holder's token. */
export class RedisGameLeases implements GameLeases {
  private readonly prefix: string;

  constructor(private readonly opts: { redis: Redis; prefix?: string }) {
    if (!opts.redis) throw new Error('RedisGameLeases: redis is required');
    this.prefix = opts.prefix ?? 'rtmanager:';
  }

  key(gameId: string): string {
    return `${this.prefix}lease:${gameId}`;
  }

  async tryAcquire(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.opts.redis.eval(ACQUIRE, 1, this.key(gameId), token, ttlMs)) === 1;
  }

  async release(gameId: string, token: string): Promise<boolean> {
    return (await this.opts.redis.eval(RELEASE, 1, this.key(gameId), token)) === 1;
  }
}
