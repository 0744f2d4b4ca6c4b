import type { Clock, GameLeases } from '../../src/domain/ports.js';

export class InMemoryGameLeases implements GameLeases {
  readonly held = new Map<string, { token: string; expiresAtMs: number }>();
  /** The last fence handed out per game; the first is 1. */
  readonly fences = new Map<string, number>();
  failAcquire: Error | null = null;
  failRelease: Error | null = null;
  readonly releases: Array<{ gameId: string; token: string }> = [];

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
