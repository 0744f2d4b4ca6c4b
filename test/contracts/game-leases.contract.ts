import { describe, expect, it } from 'vitest';
import type { GameLeases } from '../../src/domain/ports.js';

export interface GameLeasesSubject {
  port: GameLeases;
  /** Lets time pass: real time for Redis, a clock for the fake. */
  elapse: (ms: number) => Promise<void>;
  cleanup(): Promise<void>;
}

export function describeGameLeasesContract(name: string, make: () => Promise<GameLeasesSubject>): void {
  describe(`GameLeases contract: ${name}`, () => {
    const withSubject = (body: (s: GameLeasesSubject) => Promise<void>) => async () => {
      const s = await make();
      try {
        await body(s);
      } finally {
        await s.cleanup();
      }
    };

    it('grants a free lease and refuses it to another holder', withSubject(async ({ port }) => {
      expect(await port.tryAcquire('g-1', 'a', 10_000)).toBe(true);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(false);
      expect(await port.tryAcquire('g-2', 'b', 10_000)).toBe(true);
    }));

    it('is re-entrant for the same token, renewing its TTL', withSubject(async ({ port, elapse }) => {
      expect(await port.tryAcquire('g-1', 'a', 200)).toBe(true);
      await elapse(120);
      expect(await port.tryAcquire('g-1', 'a', 200)).toBe(true);
      await elapse(120);
      // Renewed at 120 ms: still held at 240 ms.
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(false);
      expect(await port.release('g-1', 'a')).toBe(true);
    }));

    it('is released by its holder only', withSubject(async ({ port }) => {
      await port.tryAcquire('g-1', 'a', 10_000);
      expect(await port.release('g-1', 'b')).toBe(false);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(false);
      expect(await port.release('g-1', 'a')).toBe(true);
      expect(await port.release('g-1', 'a')).toBe(false);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(true);
    }));

    it('expires after its TTL, and the old holder can no longer release the new lease', withSubject(async ({ port, elapse }) => {
      await port.tryAcquire('g-1', 'a', 150);
      await elapse(300);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(true);
      expect(await port.release('g-1', 'a')).toBe(false);
      expect(await port.tryAcquire('g-1', 'c', 10_000)).toBe(false);
    }));

    it('releasing a lease nobody holds is a harmless false', withSubject(async ({ port }) => {
      expect(await port.release('never', 'x')).toBe(false);
    }));
  });
}
