import type { Redis } from 'ioredis';
import type { GameLeases } from '../../domain/ports.js';

/** Deletes the key only while it still holds the caller's token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisGameLeases implements GameLeases {
  private readonly prefix: string;

  constructor(private readonly opts: { redis: Redis; prefix?: string }) {
    this.prefix = opts.prefix ?? 'rtmanager:lease:';
  }

  async tryAcquire(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.opts.redis.set(this.prefix + gameId, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async release(gameId: string, token: string): Promise<boolean> {
    return (await this.opts.redis.eval(RELEASE, 1, this.prefix + gameId, token)) === 1;
  }
}
