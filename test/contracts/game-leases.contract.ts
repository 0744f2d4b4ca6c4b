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

    it(
      'grants a free lease with a fence and refuses it to another holder, per game',
      withSubject(async ({ port }) => {
        const fence = await port.tryAcquire('g-1', 'a', 10_000);
        expect(Number.isSafeInteger(fence)).toBe(true);
        expect(fence).toBeGreaterThan(0);
        expect(await port.tryAcquire('g-1', 'b', 10_000)).toBeNull();
        expect(await port.tryAcquire('g-2', 'b', 10_000)).toEqual(expect.any(Number));
      }),
    );

    it(
      'is not re-entrant: the holder asking again gets null too, and keeps its lease',
      withSubject(async ({ port }) => {
        expect(await port.tryAcquire('g-1', 'a', 10_000)).toEqual(expect.any(Number));
        expect(await port.tryAcquire('g-1', 'a', 10_000)).toBeNull();
        expect(await port.release('g-1', 'a')).toBe(true);
      }),
    );

    it(
      'hands out strictly increasing fences across holders: after a release and after an expiry',
      withSubject(async ({ port, elapse }) => {
        const first = await port.tryAcquire('g-1', 'a', 200);
        expect(await port.release('g-1', 'a')).toBe(true);
        const second = await port.tryAcquire('g-1', 'b', 200);
        await elapse(300);
        const third = await port.tryAcquire('g-1', 'c', 10_000);
        // Another game's acquisitions do not matter: each game has its own order.
        await port.tryAcquire('g-2', 'a', 10_000);
        expect(first).not.toBeNull();
        expect(second).toBeGreaterThan(first!);
        expect(third).toBeGreaterThan(second!);
        expect(Number.isSafeInteger(third)).toBe(true);
      }),
    );

    it(
      'raised above a fence: every later fence is greater; a raise never lowers, and tells whether it had to raise',
      withSubject(async ({ port }) => {
        const first = (await port.tryAcquire('g-1', 'a', 10_000))!;
        expect(await port.release('g-1', 'a')).toBe(true);
        // A stored fence far above anything handed out: the counter went back in time.
        const stored = first + 1_000_000_000;
        expect(await port.raiseFenceAbove('g-1', stored)).toBe(true);
        const second = (await port.tryAcquire('g-1', 'b', 10_000))!;
        expect(second).toBeGreaterThan(stored);
        expect(Number.isSafeInteger(second)).toBe(true);
        expect(await port.release('g-1', 'b')).toBe(true);
        // Below what was handed out: nothing to raise, and nothing goes back.
        expect(await port.raiseFenceAbove('g-1', first)).toBe(false);
        expect(await port.raiseFenceAbove('g-1', second)).toBe(false);
        const third = (await port.tryAcquire('g-1', 'c', 10_000))!;
        expect(third).toBeGreaterThan(second);
        // Raising is no acquisition: the lease stays as it was.
        expect(await port.raiseFenceAbove('g-1', third + 1_000_000_000)).toBe(true);
        expect(await port.tryAcquire('g-1', 'd', 10_000)).toBeNull();
        expect(await port.release('g-1', 'c')).toBe(true);
        expect(await port.tryAcquire('g-1', 'd', 10_000)).toBeGreaterThan(third + 1_000_000_000);
        // A game never seen before, and another game's order untouched.
        expect(await port.raiseFenceAbove('g-2', stored)).toBe(true);
        expect(await port.tryAcquire('g-2', 'a', 10_000)).toBeGreaterThan(stored);
        expect(await port.tryAcquire('g-3', 'a', 10_000)).toBeLessThan(stored);
      }),
    );

    it(
      'is renewed by its holder: still held after the original TTL',
      withSubject(async ({ port, elapse }) => {
        expect(await port.tryAcquire('g-1', 'a', 1_000)).toEqual(expect.any(Number));
        // A witness taken after it with the same TTL, never renewed: once it has expired, so has g-1's first TTL.
        // The wait below is bounded by that expiry, not by a guess at how long a sleep takes on a busy machine.
        expect(await port.tryAcquire('g-2', 'witness', 1_000)).toEqual(expect.any(Number));
        expect(await port.renew('g-1', 'a', 60_000)).toBe(true);
        await untilFree(port, elapse, 'g-2');
        // Past the first TTL: only the renewal holds it.
        expect(await port.tryAcquire('g-1', 'b', 10_000)).toBeNull();
        expect(await port.release('g-1', 'a')).toBe(true);
      }),
    );

    it(
      'renew by another token, after expiry or after release is false and extends nothing',
      withSubject(async ({ port, elapse }) => {
        await port.tryAcquire('g-1', 'a', 200);
        expect(await port.renew('g-1', 'b', 10_000)).toBe(false);
        await elapse(300);
        // The other token's renew did not extend the lease: it expired.
        expect(await port.renew('g-1', 'a', 10_000)).toBe(false);
        expect(await port.tryAcquire('g-1', 'b', 10_000)).toEqual(expect.any(Number));
        // Taken by another: the old holder's renew is still false, and the new holder keeps it.
        expect(await port.renew('g-1', 'a', 10_000)).toBe(false);
        expect(await port.release('g-1', 'b')).toBe(true);
        expect(await port.renew('g-1', 'b', 10_000)).toBe(false);
        expect(await port.renew('never', 'x', 10_000)).toBe(false);
      }),
    );

    it(
      'is released by its holder only, once',
      withSubject(async ({ port }) => {
        await port.tryAcquire('g-1', 'a', 10_000);
        expect(await port.release('g-1', 'b')).toBe(false);
        expect(await port.tryAcquire('g-1', 'b', 10_000)).toBeNull();
        expect(await port.release('g-1', 'a')).toBe(true);
        expect(await port.release('g-1', 'a')).toBe(false);
        expect(await port.tryAcquire('g-1', 'b', 10_000)).toEqual(expect.any(Number));
      }),
    );

    it(
      'expires after its TTL, freeing the game for another holder',
      withSubject(async ({ port, elapse }) => {
        expect(await port.tryAcquire('g-1', 'a', 200)).toEqual(expect.any(Number));
        await elapse(300);
        expect(await port.tryAcquire('g-1', 'b', 10_000)).toEqual(expect.any(Number));
        expect(await port.tryAcquire('g-1', 'c', 10_000)).toBeNull();
      }),
    );

    it(
      'release after expiry is false, and never frees the next holder',
      withSubject(async ({ port, elapse }) => {
        await port.tryAcquire('g-1', 'a', 200);
        await port.tryAcquire('g-2', 'a', 200);
        await elapse(300);
        expect(await port.release('g-1', 'a')).toBe(false);
        expect(await port.tryAcquire('g-2', 'b', 10_000)).toEqual(expect.any(Number));
        expect(await port.release('g-2', 'a')).toBe(false);
        expect(await port.tryAcquire('g-2', 'c', 10_000)).toBeNull();
      }),
    );

    it(
      'releasing a lease nobody holds is a harmless false',
      withSubject(async ({ port }) => {
        expect(await port.release('never', 'x')).toBe(false);
      }),
    );
  });
}

/** Lets time pass in small steps until `gameId`'s lease can be taken (and takes it). */
async function untilFree(port: GameLeases, elapse: (ms: number) => Promise<void>, gameId: string): Promise<void> {
  for (let looks = 0; looks < 1_000; looks++) {
    if ((await port.tryAcquire(gameId, 'probe', 60_000)) !== null) return;
    await elapse(50);
  }
  throw new Error(`${gameId}'s lease never expired`);
}
