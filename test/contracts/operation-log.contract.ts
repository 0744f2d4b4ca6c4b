import { describe, expect, it } from 'vitest';
import type { OperationEntry } from '../../src/domain/model.js';
import type { OperationLog } from '../../src/domain/ports.js';

export interface OperationLogSubject {
  port: OperationLog;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 0);

export function sampleEntry(gameId: string, overrides: Partial<OperationEntry> = {}): OperationEntry {
  return {
    gameId,
    opKind: 'start',
    opSource: 'gm_rest',
    sourceRef: '1764072000000-0',
    imageRef: 'galaxy/engine:1',
    imageDigest: null,
    containerId: '',
    outcome: 'success',
    errorCode: '',
    errorMessage: '',
    startedAt: new Date(T0),
    finishedAt: new Date(T0 + 250),
    exitCode: null,
    ...overrides,
  };
}

export function describeOperationLogContract(name: string, make: () => Promise<OperationLogSubject>): void {
  describe(`OperationLog contract: ${name}`, () => {
    async function withSubject(test: (port: OperationLog) => Promise<void>): Promise<void> {
      const s = await make();
      try {
        await test(s.port);
      } finally {
        await s.cleanup();
      }
    }

    it('gives each appended entry a distinct, increasing positive integer id', () =>
      withSubject(async (port) => {
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) ids.push(await port.append(sampleEntry(i % 2 ? 'g-a' : 'g-b')));
        for (const id of ids) expect(Number.isSafeInteger(id) && id > 0).toBe(true);
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
        expect(new Set(ids).size).toBe(5);
      }));

    it('round-trips every field of an entry, with the id append returned', () =>
      withSubject(async (port) => {
        const entry = sampleEntry('g-rt', {
          opKind: 'patch',
          opSource: 'admin_rest',
          sourceRef: 'req-42',
          imageRef: 'registry.local:5000/galaxy/engine:2@sha256:' + 'a'.repeat(64),
          imageDigest: 'sha256:' + 'a'.repeat(64),
          containerId: 'c0ffee',
          outcome: 'failure',
          errorCode: 'container_start_failed',
          errorMessage: 'OCI runtime create failed: «quotes» "and" \\ newlines\nsecond line',
          startedAt: new Date(T0 + 7),
          finishedAt: new Date(T0 + 1234),
          exitCode: 137,
        });
        const id = await port.append(entry);
        const [read] = await port.listByGame('g-rt', 10);
        expect(read).toEqual({ ...entry, id });
        expect(read?.finishedAt).toBeInstanceOf(Date);
      }));

    it('keeps an image digest the operation did not know as null, not an empty string', () =>
      withSubject(async (port) => {
        const entry = sampleEntry('g-nodigest', { imageDigest: null, imageRef: '' });
        const id = await port.append(entry);
        expect(await port.listByGame('g-nodigest', 1)).toEqual([{ ...entry, id }]);
      }));

    it('lists one game only, newest first, at most `limit`', () =>
      withSubject(async (port) => {
        const mine: number[] = [];
        for (let i = 0; i < 4; i++) {
          mine.push(await port.append(sampleEntry('g-mine', { sourceRef: `r${i}` })));
          await port.append(sampleEntry('g-other', { sourceRef: `o${i}` }));
        }
        const all = await port.listByGame('g-mine', 10);
        expect(all.map((e) => e.id)).toEqual([...mine].reverse());
        expect(all.map((e) => e.sourceRef)).toEqual(['r3', 'r2', 'r1', 'r0']);
        expect((await port.listByGame('g-mine', 2)).map((e) => e.sourceRef)).toEqual(['r3', 'r2']);
      }));

    it('orders by append order, not by the entries own timestamps', () =>
      withSubject(async (port) => {
        const late = await port.append(sampleEntry('g-clock', { startedAt: new Date(T0 + 60_000), finishedAt: new Date(T0 + 61_000) }));
        const early = await port.append(sampleEntry('g-clock', { startedAt: new Date(T0), finishedAt: new Date(T0 + 1) }));
        expect((await port.listByGame('g-clock', 10)).map((e) => e.id)).toEqual([early, late]);
      }));

    it('filters by op kind', () =>
      withSubject(async (port) => {
        await port.append(sampleEntry('g-k', { opKind: 'start', sourceRef: 's1' }));
        await port.append(sampleEntry('g-k', { opKind: 'stop', sourceRef: 'x1' }));
        await port.append(sampleEntry('g-k', { opKind: 'start', sourceRef: 's2' }));
        await port.append(sampleEntry('g-other', { opKind: 'start', sourceRef: 'o1' }));
        expect((await port.listByGame('g-k', 10, 'start')).map((e) => e.sourceRef)).toEqual(['s2', 's1']);
        expect((await port.listByGame('g-k', 10, 'stop')).map((e) => e.sourceRef)).toEqual(['x1']);
        expect(await port.listByGame('g-k', 10, 'patch')).toEqual([]);
        expect((await port.listByGame('g-k', 1, 'start')).map((e) => e.sourceRef)).toEqual(['s2']);
      }));

    it('answers an empty list for an unknown game', () =>
      withSubject(async (port) => {
        await port.append(sampleEntry('g-known'));
        expect(await port.listByGame('g-unknown', 10)).toEqual([]);
      }));

    it('deletes entries that finished before the cut, oldest first, at most `limit` at a time', () =>
      withSubject(async (port) => {
        const at = (minutes: number) => ({ startedAt: new Date(T0 + minutes * 60_000 - 1_000), finishedAt: new Date(T0 + minutes * 60_000) });
        for (const minutes of [3, 1, 2, 5]) await port.append(sampleEntry('g-old', { sourceRef: `m${minutes}`, ...at(minutes) }));
        // Exactly at the cut: not older than it, so kept.
        await port.append(sampleEntry('g-cut', { sourceRef: 'm10', ...at(10) }));
        await port.append(sampleEntry('g-new', { sourceRef: 'm11', ...at(11) }));
        const cut = new Date(T0 + 10 * 60_000);
        const left = async () => [...(await port.listByGame('g-old', 10)), ...(await port.listByGame('g-cut', 10)), ...(await port.listByGame('g-new', 10))];

        expect(await port.deleteOlderThan(cut, 2)).toBe(2);
        expect((await left()).map((e) => e.sourceRef).sort()).toEqual(['m10', 'm11', 'm3', 'm5']);
        expect(await port.deleteOlderThan(cut, 2)).toBe(2);
        expect(await port.deleteOlderThan(cut, 2)).toBe(0);
        expect((await left()).map((e) => e.sourceRef).sort()).toEqual(['m10', 'm11']);
        // What is left lists as before; appends go on with new ids.
        const id = await port.append(sampleEntry('g-new', { sourceRef: 'm12', ...at(12) }));
        expect((await port.listByGame('g-new', 10)).map((e) => [e.id, e.sourceRef])).toEqual([
          [id, 'm12'],
          [expect.any(Number), 'm11'],
        ]);
      }));

    it('deletes nothing when nothing is older than the cut', () =>
      withSubject(async (port) => {
        await port.append(sampleEntry('g-young'));
        expect(await port.deleteOlderThan(new Date(T0), 100)).toBe(0);
        expect(await port.listByGame('g-young', 10)).toHaveLength(1);
      }));

    it('hands out copies: changing a listed entry changes nothing stored', () =>
      withSubject(async (port) => {
        await port.append(sampleEntry('g-copy'));
        const [first] = await port.listByGame('g-copy', 1);
        first!.errorMessage = 'tampered';
        first!.startedAt.setTime(0);
        const [again] = await port.listByGame('g-copy', 1);
        expect(again?.errorMessage).toBe('');
        expect(again?.startedAt.getTime()).toBe(T0);
      }));
  });
}
