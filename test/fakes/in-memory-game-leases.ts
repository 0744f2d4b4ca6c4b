import type { Clock, GameLeases } from '../../src/domain/ports.js';

export class InMemoryGameLeases implements GameLeases {
  readonly held = new Map<string, { token: string; expiresAtMs: number }>();
  failAcquire: Error | null = null;
  failRelease: Error | null = null;
  readonly releases: Array<{ gameId: string; token: string }> = [];

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  tryAcquire(gameId: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.failAcquire) return Promise.reject(this.failAcquire);
    const nowMs = this.clock.now().getTime();
    const current = this.held.get(gameId);
    if (current && current.expiresAtMs > nowMs && current.token !== token) return Promise.resolve(false);
    this.held.set(gameId, { token, expiresAtMs: nowMs + ttlMs });
    return Promise.resolve(true);
  }

  release(gameId: string, token: string): Promise<boolean> {
    this.releases.push({ gameId, token });
    if (this.failRelease) return Promise.reject(this.failRelease);
    const current = this.held.get(gameId);
    if (!current || current.token !== token || current.expiresAtMs <= this.clock.now().getTime()) {
      return Promise.resolve(false);
    }
    this.held.delete(gameId);
    return Promise.resolve(true);
  }
}
