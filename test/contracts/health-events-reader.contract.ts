import { describe, expect, it } from 'vitest';
import type { HealthEvent } from '../../src/domain/model.js';
import type { HealthEventEntry, HealthEventsReader } from '../../src/domain/ports.js';
import { subjectRunner } from './subject.js';

export interface HealthEventsReaderSubject {
  port: HealthEventsReader;
  /** Publishes to the stream the port reads, as the HealthEvents port does. */
  publish: (event: HealthEvent) => Promise<void>;
  cleanup(): Promise<void>;
}

const event = (gameId: string, over: Partial<HealthEvent> = {}): HealthEvent => ({
  gameId,
  containerId: 'c'.repeat(64),
  eventType: 'container_started',
  occurredAt: new Date(1764072000123),
  details: { image_ref: 'galaxy/engine:1', nested: { exit_code: 0 } },
  ...over,
});

/** `{ms}-{seq}` ids compare as pairs of numbers. */
function ascending(entries: HealthEventEntry[]): boolean {
  const parts = entries.map((e) => e.id.split('-').map(Number) as [number, number]);
  return parts.every((p, i) => i === 0 || p[0] > parts[i - 1]![0] || (p[0] === parts[i - 1]![0] && p[1] > parts[i - 1]![1]));
}

async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const began = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - began };
}

export function describeHealthEventsReaderContract(name: string, make: () => Promise<HealthEventsReaderSubject>): void {
  describe(`HealthEventsReader contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it(
      'reads the entries after an id, oldest first, a page at a time, each event as published under an increasing id',
      withSubject(async ({ port, publish }) => {
        expect(await port.readAfter('0-0', 10)).toEqual([]);
        const published = [event('g-1'), event('g-2', { eventType: 'container_exited', details: { exit_code: 137 } }), event('g-1', { containerId: '' })];
        for (const e of published) await publish(e);
        const all = await port.readAfter('0-0', 10);
        expect(all.map((e) => e.event)).toEqual(published);
        expect(all.every((e) => /^\d+-\d+$/.test(e.id))).toBe(true);
        expect(ascending(all)).toBe(true);
        expect(await port.readAfter('0-0', 2)).toEqual(all.slice(0, 2));
        expect(await port.readAfter(all[0]!.id, 10)).toEqual(all.slice(1));
        expect(await port.readAfter(all[2]!.id, 10)).toEqual([]);
      }),
    );

    it(
      'a follower answers at once with what is there, waits for what comes next, and answers nothing when nothing came in time',
      withSubject(async ({ port, publish }) => {
        await publish(event('g-1'));
        const follower = port.follow();
        try {
          const there = await timed(follower.next('0-0', 10, 5_000));
          expect(there.value.map((e) => e.event.gameId)).toEqual(['g-1']);
          expect(there.ms).toBeLessThan(1_000);
          const after = there.value[0]!.id;
          const quiet = await timed(follower.next(after, 10, 300));
          expect(quiet.value).toEqual([]);
          expect(quiet.ms).toBeGreaterThan(200);
          const waiting = timed(follower.next(after, 10, 10_000));
          await new Promise((r) => setTimeout(r, 100));
          await publish(event('g-2'));
          const came = await waiting;
          expect(came.value.map((e) => e.event.gameId)).toEqual(['g-2']);
          expect(came.ms).toBeLessThan(5_000);
        } finally {
          follower.close();
        }
      }),
    );

    it(
      'closing a follower ends its wait under way at once (it rejects), and it reads no more',
      withSubject(async ({ port }) => {
        const follower = port.follow();
        const waiting = timed(
          follower.next('0-0', 10, 20_000).then(
            () => 'answered',
            () => 'rejected',
          ),
        );
        await new Promise((r) => setTimeout(r, 100));
        follower.close();
        const ended = await waiting;
        expect(ended.value).toBe('rejected');
        expect(ended.ms).toBeLessThan(2_000);
        await expect(follower.next('0-0', 10, 100)).rejects.toThrow(/closed/);
        // Closing twice is harmless.
        follower.close();
      }),
    );
  });
}
