import { describe, expect, it } from 'vitest';
import type { RuntimeRecord, RuntimeStatus } from '../../src/domain/model.js';
import type { RuntimeRecordStore } from '../../src/domain/ports.js';

export interface RuntimeRecordStoreSubject {
  port: RuntimeRecordStore;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 123);

export function sampleRecord(gameId: string, overrides: Partial<RuntimeRecord> = {}): RuntimeRecord {
  return {
    gameId,
    status: 'running',
    currentContainerId: `cid-${gameId}`,
    currentImageRef: 'registry.local:5000/galaxy/engine:1.2.3',
    engineEndpoint: `http://galaxy-game-${gameId}:8080`,
    statePath: `/srv/game-state/${gameId}`,
    dockerNetwork: 'galaxy-engines',
    startedAt: new Date(T0 + 1),
    stoppedAt: null,
    lastOpAt: new Date(T0 + 2),
    createdAt: new Date(T0),
    currentImageDigest: `sha256:${'5'.repeat(64)}`,
    effectiveCpuQuota: 0.25,
    effectiveMemoryBytes: 12 * 1024 ** 4,
    effectivePidsLimit: 4096,
    nodeId: 'n4bxkq2pdlvw3hygx7cm9rjse',
    nodeHostname: 'worker-2.galaxy.test',
    health: 'none',
    restartCount: 0,
    lastExitCode: null,
    ...overrides,
  };
}

/** Every page of a listing, following cursors; fails on a cursor loop. */
async function listAll(
  port: RuntimeRecordStore,
  query: { status?: RuntimeStatus; limit: number },
): Promise<{ ids: string[][]; cursors: Array<string | null> }> {
  const ids: string[][] = [];
  const cursors: Array<string | null> = [];
  let cursor: string | null = null;
  for (let i = 0; i < 50; i++) {
    const page = await port.list({ ...query, cursor });
    ids.push(page.records.map((r) => r.gameId));
    cursors.push(page.nextCursor);
    if (page.nextCursor === null) return { ids, cursors };
    cursor = page.nextCursor;
  }
  throw new Error('listing did not end after 50 pages');
}

export function describeRuntimeRecordStoreContract(name: string, make: () => Promise<RuntimeRecordStoreSubject>): void {
  describe(`RuntimeRecordStore contract: ${name}`, () => {
    async function withSubject(test: (port: RuntimeRecordStore) => Promise<void>): Promise<void> {
      const s = await make();
      try {
        await test(s.port);
      } finally {
        await s.cleanup();
      }
    }

    it('answers null for a game it has never seen', () =>
      withSubject(async (port) => {
        expect(await port.get('never-seen')).toBeNull();
      }));

    it('round-trips every field: Dates to the millisecond, strings as given', () =>
      withSubject(async (port) => {
        const record = sampleRecord('g-full', { stoppedAt: new Date(T0 + 999), status: 'exited' });
        await port.upsert(record, 1);
        const read = await port.get('g-full');
        expect(read).toEqual(record);
        expect(read?.startedAt).toBeInstanceOf(Date);
        expect(read?.lastOpAt.getTime()).toBe(T0 + 2);
      }));

    it('keeps effective limits exactly: a fractional CPU count, memory bytes past 32 bits, zero', () =>
      withSubject(async (port) => {
        const record = sampleRecord('g-limits', { effectiveCpuQuota: 1.37, effectiveMemoryBytes: 2 ** 53 - 1, effectivePidsLimit: 0 });
        await port.upsert(record, 1);
        expect(await port.get('g-limits')).toEqual(record);
      }));

    it('keeps what it knows of the engine (contract §15): its health, crash restarts and last exit code', () =>
      withSubject(async (port) => {
        for (const [i, health] of (['healthy', 'unhealthy', 'starting', 'none'] as const).entries()) {
          const record = sampleRecord(`g-engine-${i}`, { health, restartCount: i * 3, lastExitCode: i === 3 ? null : [0, 137, -1][i]! });
          await port.upsert(record, 1);
          expect(await port.get(record.gameId)).toEqual(record);
        }
      }));

    it('keeps nulls as nulls, not empty strings or epoch dates', () =>
      withSubject(async (port) => {
        const record = sampleRecord('g-nulls', {
          status: 'removed',
          currentContainerId: null,
          currentImageRef: null,
          engineEndpoint: null,
          statePath: null,
          dockerNetwork: null,
          startedAt: null,
          stoppedAt: null,
          currentImageDigest: null,
          effectiveCpuQuota: null,
          effectiveMemoryBytes: null,
          effectivePidsLimit: null,
          nodeId: null,
          nodeHostname: null,
          health: 'none',
          restartCount: 0,
          lastExitCode: null,
        });
        await port.upsert(record, 1);
        expect(await port.get('g-nulls')).toEqual(record);
      }));

    it('replaces the whole record on a second upsert, nulls included', () =>
      withSubject(async (port) => {
        await port.upsert(sampleRecord('g-replace'), 1);
        const replacement = sampleRecord('g-replace', {
          status: 'stopped',
          currentContainerId: null,
          currentImageRef: 'galaxy/engine:2',
          stoppedAt: new Date(T0 + 5000),
          lastOpAt: new Date(T0 + 5000),
          createdAt: new Date(T0 - 1000),
          currentImageDigest: `sha256:${'6'.repeat(64)}`,
          effectiveCpuQuota: null,
          effectiveMemoryBytes: null,
          effectivePidsLimit: null,
          nodeId: null,
          nodeHostname: null,
          health: 'none',
          restartCount: 0,
          lastExitCode: null,
        });
        await port.upsert(replacement, 1);
        expect(await port.get('g-replace')).toEqual(replacement);
        expect((await port.list({ limit: 10 })).records).toEqual([replacement]);
      }));

    it('a first write of a game is written, whatever its fence', () =>
      withSubject(async (port) => {
        expect(await port.upsert(sampleRecord('g-zero'), 0)).toBe(true);
        expect(await port.upsert(sampleRecord('g-one'), 1)).toBe(true);
        expect((await port.list({ limit: 10 })).records.map((r) => r.gameId)).toEqual(['g-one', 'g-zero']);
      }));

    it('refuses a write carrying a lower fence than the stored one, leaving the row unchanged', () =>
      withSubject(async (port) => {
        const newer = sampleRecord('g-fenced', { status: 'stopped', currentContainerId: null });
        expect(await port.upsert(newer, 5)).toBe(true);
        const stale = sampleRecord('g-fenced', { currentContainerId: 'cid-stale', lastOpAt: new Date(T0 + 9000) });
        expect(await port.upsert(stale, 4)).toBe(false);
        expect(await port.get('g-fenced')).toEqual(newer);
        expect((await port.list({ limit: 10 })).records).toEqual([newer]);
        expect((await port.list({ status: 'running', limit: 10 })).records).toEqual([]);
      }));

    it('writes with an equal or a higher fence, and the higher one then fences the equal one out', () =>
      withSubject(async (port) => {
        expect(await port.upsert(sampleRecord('g-fenced'), 5)).toBe(true);
        const again = sampleRecord('g-fenced', { status: 'exited' });
        expect(await port.upsert(again, 5)).toBe(true);
        expect(await port.get('g-fenced')).toEqual(again);
        const higher = sampleRecord('g-fenced', { status: 'stopped', currentContainerId: null });
        expect(await port.upsert(higher, 6)).toBe(true);
        expect(await port.get('g-fenced')).toEqual(higher);
        expect(await port.upsert(again, 5)).toBe(false);
        expect(await port.get('g-fenced')).toEqual(higher);
      }));

    it('tells the fence the record was last written with: 0 for no record, unchanged by a refused write', () =>
      withSubject(async (port) => {
        expect(await port.leaseFence('g-fenced')).toBe(0);
        expect(await port.upsert(sampleRecord('g-fenced'), 5)).toBe(true);
        expect(await port.leaseFence('g-fenced')).toBe(5);
        expect(await port.upsert(sampleRecord('g-fenced'), 4)).toBe(false);
        expect(await port.leaseFence('g-fenced')).toBe(5);
        expect(await port.upsert(sampleRecord('g-fenced'), 1_796_599_596_257_178)).toBe(true);
        expect(await port.leaseFence('g-fenced')).toBe(1_796_599_596_257_178);
        expect(await port.leaseFence('g-other')).toBe(0);
      }));

    it('compares fences the size Redis hands out (its clock in µs) exactly', () =>
      withSubject(async (port) => {
        const fence = 1_795_614_446_371_001;
        const stored = sampleRecord('g-big');
        expect(await port.upsert(stored, fence)).toBe(true);
        expect(await port.upsert(sampleRecord('g-big', { status: 'exited' }), fence - 1)).toBe(false);
        expect(await port.get('g-big')).toEqual(stored);
        expect(await port.upsert(sampleRecord('g-big', { status: 'exited' }), fence + 1)).toBe(true);
        expect((await port.get('g-big'))?.status).toBe('exited');
        // Another game's fence is no concern of this one.
        expect(await port.upsert(sampleRecord('g-small'), 1)).toBe(true);
      }));

    it('hands out copies: changing a returned or upserted object changes nothing stored', () =>
      withSubject(async (port) => {
        const record = sampleRecord('g-copy');
        await port.upsert(record, 1);
        record.status = 'stopped';
        const read = await port.get('g-copy');
        expect(read?.status).toBe('running');
        read!.lastOpAt.setTime(0);
        expect((await port.get('g-copy'))?.lastOpAt.getTime()).toBe(T0 + 2);
      }));

    it('lists nothing, with no cursor, when empty', () =>
      withSubject(async (port) => {
        expect(await port.list({ limit: 5 })).toEqual({ records: [], nextCursor: null });
      }));

    it('orders by game id byte-wise (digits < upper < lower; "-" < "_"), whatever the locale', () =>
      withSubject(async (port) => {
        const ids = ['b', 'a_b', 'B-1', 'a0', 'A', 'aB', 'a-b', 'Z9', '0z'];
        for (const id of ids) await port.upsert(sampleRecord(id), 1);
        const page = await port.list({ limit: 100 });
        expect(page.records.map((r) => r.gameId)).toEqual(['0z', 'A', 'B-1', 'Z9', 'a-b', 'a0', 'aB', 'a_b', 'b']);
        expect(page.nextCursor).toBeNull();
      }));

    it('pages with the cursor, every record exactly once, last page without a cursor', () =>
      withSubject(async (port) => {
        const ids = ['g-01', 'g-02', 'g-03', 'g-04', 'g-05'];
        for (const id of [...ids].reverse()) await port.upsert(sampleRecord(id), 1);
        expect(await listAll(port, { limit: 2 })).toEqual({
          ids: [['g-01', 'g-02'], ['g-03', 'g-04'], ['g-05']],
          cursors: ['g-02', 'g-04', null],
        });
      }));

    it('gives no cursor when the last page is exactly full', () =>
      withSubject(async (port) => {
        for (const id of ['g-1', 'g-2', 'g-3', 'g-4']) await port.upsert(sampleRecord(id), 1);
        expect(await listAll(port, { limit: 2 })).toEqual({
          ids: [
            ['g-1', 'g-2'],
            ['g-3', 'g-4'],
          ],
          cursors: ['g-2', null],
        });
      }));

    it('filters by status, and pages within the filter', () =>
      withSubject(async (port) => {
        const statuses: Record<string, RuntimeStatus> = {
          'g-1': 'running',
          'g-2': 'stopped',
          'g-3': 'running',
          'g-4': 'exited',
          'g-5': 'running',
          'g-6': 'removed',
        };
        for (const [id, status] of Object.entries(statuses)) await port.upsert(sampleRecord(id, { status }), 1);
        expect(await listAll(port, { status: 'running', limit: 2 })).toEqual({
          ids: [['g-1', 'g-3'], ['g-5']],
          cursors: ['g-3', null],
        });
        expect((await port.list({ status: 'stopped', limit: 10 })).records.map((r) => r.gameId)).toEqual(['g-2']);
        const removed = await port.list({ status: 'removed', limit: 10 });
        expect(removed.records).toEqual([sampleRecord('g-6', { status: 'removed' })]);
      }));

    it('continues after a cursor that names no stored game', () =>
      withSubject(async (port) => {
        for (const id of ['g-a', 'g-c', 'g-e']) await port.upsert(sampleRecord(id), 1);
        const page = await port.list({ limit: 10, cursor: 'g-b' });
        expect(page.records.map((r) => r.gameId)).toEqual(['g-c', 'g-e']);
        expect(page.nextCursor).toBeNull();
      }));

    it('sees a status change in the filtered listing', () =>
      withSubject(async (port) => {
        await port.upsert(sampleRecord('g-flip', { status: 'running' }), 1);
        await port.upsert(sampleRecord('g-flip', { status: 'stopped' }), 1);
        expect((await port.list({ status: 'running', limit: 10 })).records).toEqual([]);
        expect((await port.list({ status: 'stopped', limit: 10 })).records.map((r) => r.gameId)).toEqual(['g-flip']);
      }));
  });
}
