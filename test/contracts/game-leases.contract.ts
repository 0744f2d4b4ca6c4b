import { describe, expect, it } from 'vitest';
import type { GameLeases } from '../../src/domain/ports.js';
import { subjectRunner } from './subject.js';

export interface GameLeasesSubject {
  port: GameLeases;
  /** Lets time pass: real time for Redis, a clock for the fake. */
  elapse: (ms: number) => Promise<void>;
  cleanup(): Promise<void>;
}

export function describeGameLeasesContract(name: string, make: () => Promise<GameLeasesSubject>): void {
  describe(`GameLeases contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it('grants a free lease and refuses it to another holder, per game', withSubject(async ({ port }) => {
      expect(await port.tryAcquire('g-1', 'a', 10_000)).toBe(true);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(false);
      expect(await port.tryAcquire('g-2', 'b', 10_000)).toBe(true);
    }));

    it('is re-entrant for the same token, renewing its TTL', withSubject(async ({ port, elapse }) => {
      expect(await port.tryAcquire('g-1', 'a', 500)).toBe(true);
      await elapse(300);
      expect(await port.tryAcquire('g-1', 'a', 500)).toBe(true);
      await elapse(300);
      // Renewed at 300 ms: still held at 600 ms, past the first TTL.
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(false);
      expect(await port.release('g-1', 'a')).toBe(true);
    }));

    it('is released by its holder only, once', withSubject(async ({ port }) => {
      await port.tryAcquire('g-1', 'a', 10_000);
      expect(await port.release('g-1', 'b')).toBe(false);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(false);
      expect(await port.release('g-1', 'a')).toBe(true);
      expect(await port.release('g-1', 'a')).toBe(false);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(true);
    }));

    it('expires after its TTL, freeing the game for another holder', withSubject(async ({ port, elapse }) => {
      expect(await port.tryAcquire('g-1', 'a', 200)).toBe(true);
      await elapse(300);
      expect(await port.tryAcquire('g-1', 'b', 10_000)).toBe(true);
      expect(await port.tryAcquire('g-1', 'c', 10_000)).toBe(false);
    }));

    it('release after expiry is false, and never frees the next holder', withSubject(async ({ port, elapse }) => {
      await port.tryAcquire('g-1', 'a', 200);
      await port.tryAcquire('g-2', 'a', 200);
      await elapse(300);
      expect(await port.release('g-1', 'a')).toBe(false);
      expect(await port.tryAcquire('g-2', 'b', 10_000)).toBe(true);
      expect(await port.release('g-2', 'a')).toBe(false);
      expect(await port.tryAcquire('g-2', 'c', 10_000)).toBe(false);
    }));

    it('releasing a lease nobody holds is a harmless false', withSubject(async ({ port }) => {
      expect(await port.release('never', 'x')).toBe(false);
    }));
  });
}
