/**
 * The dedup-aware enqueue the stream intake relies on (contract §14: a stream
 * entry runs at most once). Run against the intake's fake and the real
 * enqueuer (src/jobs/enqueue.ts), so the intake's tests cannot drift from it.
 *
 * An enqueue given `dedup` (the entry id, and the lobby's request id when the
 * entry has one) answers `duplicate` — adding nothing — when that entry id or
 * that request id was already accepted (enqueued or joined) for the same game
 * within the dedup window, whatever happened to the game since. Without
 * `dedup` (the HTTP API) nothing changes. What a refused (`conflict`) entry
 * leaves behind is not specified here.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IntakeEnqueueOutcome, StreamDedup } from '../../src/jobs/intake.js';
import type { LifecycleKind, LifecyclePayload, StartPayload } from '../../src/jobs/queues.js';
import { subjectRunner } from './subject.js';

export interface DedupEnqueueSubject {
  /** The enqueuer under test, called as the composition root calls it. */
  enqueue(kind: LifecycleKind, payload: LifecyclePayload, opts?: { dedup?: StreamDedup }): Promise<IntakeEnqueueOutcome>;
  /** Ends every pending job of the game as a worker running it would: the game's next enqueue adds a new job. */
  endJobs(gameId: string): Promise<void>;
  /** The kinds that have a pending (not yet ended) job for the game. */
  pendingKinds(gameId: string): Promise<LifecycleKind[]>;
  /** Lets this much time pass for the dedup window (a fake's clock, or a real wait). */
  elapse(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** Long enough that nothing in a test outlives it by accident; the window test makes its own. */
const DAY_MS = 86_400_000;
const SHORT_WINDOW_MS = 1_000;

const newGame = (): string => `gd-${randomUUID().slice(0, 12)}`;

function start(gameId: string, entryId: string, requestId?: string, imageRef = 'galaxy/engine:1'): StartPayload {
  return { gameId, imageRef, opSource: 'lobby_stream', sourceRef: entryId, ...(requestId ? { requestId } : {}) };
}

/** The dedup keys the intake passes for an entry. */
const keysOf = (payload: StartPayload): { dedup: StreamDedup } => ({
  dedup: { entryId: payload.sourceRef, ...(payload.requestId ? { requestId: payload.requestId } : {}) },
});

export function describeDedupEnqueueContract(name: string, make: (opts: { windowMs: number }) => Promise<DedupEnqueueSubject>): void {
  describe(`dedup-aware enqueue contract: ${name}`, () => {
    const withSubject = subjectRunner(() => make({ windowMs: DAY_MS }));
    const withShortWindow = subjectRunner(() => make({ windowMs: SHORT_WINDOW_MS }));

    it(
      'answers duplicate for an entry delivered again after its job ended and a stop was accepted: no new start',
      withSubject(async (s) => {
        const g = newGame();
        const entry = start(g, '1700000000000-0', 'r-1');
        expect(await s.enqueue('start', entry, keysOf(entry))).toMatchObject({ kind: 'enqueued', jobId: g });
        await s.endJobs(g);
        expect(await s.enqueue('stop', { gameId: g, opSource: 'gm_rest', sourceRef: 'http-1' })).toMatchObject({ kind: 'enqueued', jobId: g });
        expect(await s.enqueue('start', entry, keysOf(entry))).toMatchObject({ kind: 'duplicate', jobId: g });
        expect(await s.pendingKinds(g)).toEqual(['stop']);
      }),
    );

    it(
      'answers duplicate with the same job for an entry delivered again while its start is pending, and for one that joined it',
      withSubject(async (s) => {
        const g = newGame();
        const first = start(g, '1700000000000-0', 'r-1');
        const joining = start(g, '1700000000001-0', 'r-2');
        expect(await s.enqueue('start', first, keysOf(first))).toMatchObject({ kind: 'enqueued', jobId: g });
        expect(await s.enqueue('start', joining, keysOf(joining))).toMatchObject({ kind: 'joined', jobId: g });
        expect(await s.enqueue('start', first, keysOf(first))).toMatchObject({ kind: 'duplicate', jobId: g });
        expect(await s.enqueue('start', joining, keysOf(joining))).toMatchObject({ kind: 'duplicate', jobId: g });
        expect(await s.pendingKinds(g)).toEqual(['start']);
      }),
    );

    it(
      'answers duplicate for a new entry carrying a request id already accepted for the game (a lobby re-sending), whatever image it names',
      withSubject(async (s) => {
        const g = newGame();
        const sent = start(g, '1700000000000-0', 'r-1');
        expect(await s.enqueue('start', sent, keysOf(sent))).toMatchObject({ kind: 'enqueued' });
        await s.endJobs(g);
        const resent = start(g, '1700000005000-0', 'r-1');
        expect(await s.enqueue('start', resent, keysOf(resent))).toMatchObject({ kind: 'duplicate', jobId: g });
        const resentOther = start(g, '1700000006000-0', 'r-1', 'galaxy/engine:2');
        expect(await s.enqueue('start', resentOther, keysOf(resentOther))).toMatchObject({ kind: 'duplicate', jobId: g });
        expect(await s.pendingKinds(g)).toEqual([]);
      }),
    );

    it(
      'runs a new request id, and the same request id for another game',
      withSubject(async (s) => {
        const [g, other] = [newGame(), newGame()];
        const first = start(g, '1700000000000-0', 'r-1');
        expect(await s.enqueue('start', first, keysOf(first))).toMatchObject({ kind: 'enqueued' });
        await s.endJobs(g);
        const next = start(g, '1700000001000-0', 'r-2');
        expect(await s.enqueue('start', next, keysOf(next))).toMatchObject({ kind: 'enqueued', jobId: g });
        // Entry ids are unique per stream, so a second game's entry differs; its request id may not.
        const elsewhere = start(other, '1700000002000-0', 'r-1');
        expect(await s.enqueue('start', elsewhere, keysOf(elsewhere))).toMatchObject({ kind: 'enqueued', jobId: other });
      }),
    );

    it(
      'tells entries without a request id apart by their entry id only',
      withSubject(async (s) => {
        const g = newGame();
        const a = start(g, '1700000000000-0');
        const b = start(g, '1700000000000-1');
        expect(await s.enqueue('start', a, keysOf(a))).toMatchObject({ kind: 'enqueued' });
        await s.endJobs(g);
        expect(await s.enqueue('start', b, keysOf(b))).toMatchObject({ kind: 'enqueued' });
        expect(await s.enqueue('start', a, keysOf(a))).toMatchObject({ kind: 'duplicate', jobId: g });
        expect(await s.enqueue('start', b, keysOf(b))).toMatchObject({ kind: 'duplicate', jobId: g });
      }),
    );

    it(
      'runs one entry delivered twice at once (a slow consumer and the one that claimed from it) once',
      withSubject(async (s) => {
        const games = Array.from({ length: 5 }, newGame);
        for (const g of games) {
          const entry = start(g, '1700000000000-0', 'r-1');
          const both = await Promise.all([s.enqueue('start', entry, keysOf(entry)), s.enqueue('start', entry, keysOf(entry))]);
          expect(both.map((o) => o.kind).sort(), g).toEqual(['duplicate', 'enqueued']);
        }
      }),
    );

    it(
      'never answers duplicate without dedup keys (the HTTP API): a second start joins',
      withSubject(async (s) => {
        const g = newGame();
        const request = start(g, 'http-1');
        expect(await s.enqueue('start', request)).toMatchObject({ kind: 'enqueued' });
        expect(await s.enqueue('start', request)).toMatchObject({ kind: 'joined', jobId: g });
      }),
    );

    it(
      'forgets an entry and its request id once the dedup window has passed',
      withShortWindow(async (s) => {
        const g = newGame();
        const entry = start(g, '1700000000000-0', 'r-1');
        expect(await s.enqueue('start', entry, keysOf(entry))).toMatchObject({ kind: 'enqueued' });
        await s.endJobs(g);
        await s.elapse(SHORT_WINDOW_MS / 4);
        expect(await s.enqueue('start', entry, keysOf(entry))).toMatchObject({ kind: 'duplicate' });
        await s.elapse(SHORT_WINDOW_MS * 1.5);
        expect(await s.enqueue('start', entry, keysOf(entry))).toMatchObject({ kind: 'enqueued', jobId: g });
      }),
    );
  });
}
