import type { Clock, GameLeases } from '../../src/domain/ports.js';

export class InMemoryGameLeases implements GameLeases {
  readonly held = new Map<string, { token: string; expiresAtMs: number }>();
  /** The last fence handed out (or raised to) per game; the first is 1. Set it lower to play a Redis that went back in time. */
  readonly fences = new Map<string, number>();
  failAcquire: Error | null = null;
  failRelease: Error | null = null;
  readonly releases: Array<{ gameId: string; token: string }> = [];
  readonly raises: Array<{ gameId: string; fence: number }> = [];

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  tryAcquire(gameId: string, token: string, ttlMs: number): Promise<number | null> {
    if (this.failAcquire) return Promise.reject(this.failAcquire);
    const nowMs = this.clock.now().getTime();
    if (this.holder(gameId, nowMs)) return Promise.resolve(null);
    this.held.set(gameId, { token, expiresAtMs: nowMs + ttlMs });
    const fence = (this.fences.get(gameId) ?? 0) + 1;
    this.fences.set(gameId, fence);
    return Promise.resolve(fence);
  }

  raiseFenceAbove(gameId: string, fence: number): Promise<boolean> {
    this.raises.push({ gameId, fence });
    const behind = (this.fences.get(gameId) ?? 0) < fence;
    if (behind) this.fences.set(gameId, fence);
    return Promise.resolve(behind);
  }

  renew(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    const nowMs = this.clock.now().getTime();
    const current = this.holder(gameId, nowMs);
    if (current?.token !== token) return Promise.resolve(false);
    current.expiresAtMs = nowMs + ttlMs;
    return Promise.resolve(true);
  }

  release(gameId: string, token: string): Promise<boolean> {
    this.releases.push({ gameId, token });
    if (this.failRelease) return Promise.reject(this.failRelease);
    if (this.holder(gameId, this.clock.now().getTime())?.token !== token) return Promise.resolve(false);
    this.held.delete(gameId);
    return Promise.resolve(true);
  }

  /** The live lease of a game, if any: an expired one is as good as gone. */
  private holder(gameId: string, nowMs: number): { token: string; expiresAtMs: number } | undefined {
    const current = this.held.get(gameId);
    return current && current.expiresAtMs > nowMs ? current : undefined;
  }
}
