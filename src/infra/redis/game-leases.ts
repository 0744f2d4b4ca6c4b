import type { Redis } from 'ioredis';
import type { GameLeases } from '../../domain/ports.js';

/** Takes a free lease, or renews one this token already holds. */
const ACQUIRE = `local v = redis.call('get', KEYS[1])
if v == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Deletes the key only while it still holds the caller's token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisGameLeases implements GameLeases {
  private readonly prefix: string;

  constructor(private readonly opts: { redis: Redis; prefix?: string }) {
    this.prefix = opts.prefix ?? 'rtmanager:lease:';
  }

  async tryAcquire(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.opts.redis.eval(ACQUIRE, 1, this.prefix + gameId, token, ttlMs)) === 1;
  }

  async release(gameId: string, token: string): Promise<boolean> {
    return (await this.opts.redis.eval(RELEASE, 1, this.prefix + gameId, token)) === 1;
  }
}
