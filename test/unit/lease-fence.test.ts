/**
 * Fenced record writes in the lifecycles (contract §10): every write carries
 * the fence of the lease its operation took, and a write refused because a
 * newer operation wrote with a higher fence is a retryable conflict. A newer
 * operation is simulated by writing the record with fence 99.
 */
import { describe, expect, it } from 'vitest';
import { LEASE_LOST_MESSAGE } from '../../src/domain/errors.js';
import type { RuntimeRecord } from '../../src/domain/model.js';
import { reconcileGame } from '../../src/domain/reconcile.js';
import { restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { sampleRecord } from '../contracts/runtime-record-store.contract.js';
import { failure } from '../fakes/results.js';
import { IMAGE, ownContainer, world } from '../fakes/world.js';
import type { World } from '../fakes/world.js';

const who = { opSource: 'admin_rest' as const, sourceRef: 'op-1' };
const NEWER = 99;
const leaseLost = failure('conflict', LEASE_LOST_MESSAGE, true, 'lease_lost');

async function started(w: World): Promise<RuntimeRecord> {
  const result = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who });
  expect(result.outcome).toBe('success');
  return result.record!;
}

/** What a newer operation left: the record written with a higher fence than any this test's operations take. */
async function writtenByNewer(w: World, record: RuntimeRecord): Promise<RuntimeRecord> {
  expect(await w.records.upsert(record, NEWER)).toBe(true);
  return record;
}

/** [op_kind, outcome, error_code] of every audit row, oldest first. */
const audit = (w: World) => w.operations.entries.map((e) => [e.opKind, e.outcome, e.errorCode]);

describe('start: a fenced record write', () => {
  it('writes the record with the fence of the lease it took', async () => {
    const w = world();
    await started(w);
    expect(w.leases.fences.get('g-1')).toBe(1);
    expect(w.records.fences.get('g-1')).toBe(1);
  });

  it('refused: a retryable lease-lost conflict, the container it created removed, the newer record kept', async () => {
    const w = world();
    const newer = await writtenByNewer(w, sampleRecord('g-1', { status: 'stopped', currentContainerId: null }));
    const result = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who });
    expect(result).toEqual(leaseLost);
    expect(w.docker.calls.filter((c) => c === 'remove')).toHaveLength(1);
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toEqual(newer);
    expect(w.records.fences.get('g-1')).toBe(NEWER);
    expect(audit(w)).toEqual([['start', 'failure', 'conflict']]);
    expect(w.operations.entries[0]?.containerId).toMatch(/^fake/);
    expect(w.healthEvents.published).toEqual([]);
    expect(w.notifications.published).toEqual([]);
    expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'failure', errorCode: 'conflict', opSource: 'admin_rest' }]);
    expect(w.leases.held.size).toBe(0);
  });

  it('refused: a container it adopted rather than created is left alone', async () => {
    const w = world();
    const id = w.docker.addContainer(ownContainer('g-1'));
    await writtenByNewer(w, sampleRecord('g-1', { status: 'stopped', currentContainerId: null }));
    expect(await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who })).toEqual(leaseLost);
    expect(w.docker.containers.has(id)).toBe(true);
    expect(w.docker.calls).not.toContain('remove');
  });
});

describe('stop and restart: the fence of their own lease', () => {
  it.each([
    ['stop', stopRuntime],
    ['restart (its inner start included)', restartRuntime],
  ] as const)('%s writes the record with the fence of the lease it took, once', async (_, run) => {
    const w = world();
    await started(w);
    expect((await run(w.deps, { gameId: 'g-1', ...who })).outcome).toBe('success');
    expect(w.leases.fences.get('g-1')).toBe(2);
    expect(w.records.fences.get('g-1')).toBe(2);
  });
});

describe('stop: a fenced record write', () => {
  it('refused: a retryable lease-lost conflict naming the container, the newer record kept', async () => {
    const w = world();
    const before = await started(w);
    const newer = await writtenByNewer(w, { ...before, lastOpAt: new Date('2026-11-25T12:00:00Z') });
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(leaseLost);
    expect(await w.records.get('g-1')).toEqual(newer);
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['stop', 'failure', 'conflict'],
    ]);
    expect(w.operations.entries.at(-1)?.containerId).toBe(before.currentContainerId);
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_started']);
    expect(w.leases.held.size).toBe(0);
  });
});

describe('restart: a fenced record write', () => {
  it('an inner start whose write is refused makes it a retryable lease-lost conflict, the new container removed', async () => {
    const w = world();
    const before = await started(w);
    let newer: RuntimeRecord | null = null;
    const result = await restartRuntime(
      w.deps,
      { gameId: 'g-1', ...who },
      {
        onStep: async (name) => {
          if (name === 'run_container') newer = await writtenByNewer(w, { ...before, status: 'stopped', currentContainerId: null });
        },
      },
    );
    expect(result).toEqual(leaseLost);
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toEqual(newer);
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['start', 'failure', 'conflict'],
      ['restart', 'failure', 'conflict'],
    ]);
  });
});

describe('reconcile: a fenced record write', () => {
  it('writes with the fence of its own lease', async () => {
    const w = world();
    const record = await started(w);
    await w.docker.remove(record.currentContainerId!);
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('disappeared');
    expect(w.records.fences.get('g-1')).toBe(2);
  });

  it('refused while marking a record: skipped as busy, nothing audited or published, the newer record kept', async () => {
    const w = world();
    const record = await writtenByNewer(w, await started(w));
    await w.docker.remove(record.currentContainerId!);
    const rows = w.operations.entries.length;
    const events = w.healthEvents.published.length;
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('skipped_busy');
    expect(await w.records.get('g-1')).toEqual(record);
    expect(w.operations.entries).toHaveLength(rows);
    expect(w.healthEvents.published).toHaveLength(events);
    expect(w.logger.lines.some((l) => l.level === 'warn' && l.message === 'reconcile: lease lost, a newer operation owns this game')).toBe(true);
    expect(w.leases.held.size).toBe(0);
  });

  it('refused while adopting: skipped as busy, the container and the newer record left as they are', async () => {
    const w = world();
    const id = w.docker.addContainer(ownContainer('g-1'));
    const newer = await writtenByNewer(w, sampleRecord('g-1', { status: 'stopped', currentContainerId: null }));
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('skipped_busy');
    expect(await w.records.get('g-1')).toEqual(newer);
    expect(w.docker.containers.has(id)).toBe(true);
    expect(w.operations.entries).toEqual([]);
    expect(w.healthEvents.published).toEqual([]);
  });
});

describe('a stored fence above every fence the leases handed out (Redis went back in time)', () => {
  const raised = (w: World) => w.logger.lines.filter((l) => l.level === 'warn' && /fence counter was behind a stored lease_fence/.test(l.message));

  it.each([
    ['start', (w: World) => startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who }), 'stopped'],
    ['stop', (w: World) => stopRuntime(w.deps, { gameId: 'g-1', ...who }), 'running'],
    ['restart', (w: World) => restartRuntime(w.deps, { gameId: 'g-1', ...who }), 'running'],
  ] as const)('%s: refused once, the fence counter raised past it, and the retry gets through', async (_, run, status) => {
    const w = world();
    const record = await started(w);
    if (status === 'stopped') expect((await stopRuntime(w.deps, { gameId: 'g-1', ...who })).outcome).toBe('success');
    // The leases' counter went back to 1 while the record carries 99.
    await writtenByNewer(w, (await w.records.get('g-1')) ?? record);
    w.leases.fences.set('g-1', 1);
    expect(await run(w)).toEqual(leaseLost);
    expect(w.leases.raises).toEqual([{ gameId: 'g-1', fence: NEWER }]);
    expect(raised(w)).toHaveLength(1);
    const retried = await run(w);
    expect(retried.outcome).toBe('success');
    expect(w.records.fences.get('g-1')).toBeGreaterThan(NEWER);
    expect((await w.records.get('g-1'))?.status).toBe(status === 'stopped' ? 'running' : retried.record?.status);
  });

  it('a refusal by a genuinely newer holder finds the counter past the stored fence: nothing raised, nothing said about Redis', async () => {
    const w = world();
    await started(w);
    const result = await stopRuntime(
      w.deps,
      { gameId: 'g-1', ...who },
      {
        onStep: async (s) => {
          if (s !== 'upsert_record') return;
          // A newer holder (our lease lapsed, say) took fence 99 from the counter and wrote with it.
          w.leases.fences.set('g-1', NEWER);
          await writtenByNewer(w, sampleRecord('g-1', { status: 'stopped', currentContainerId: null }));
        },
      },
    );
    expect(result).toEqual(leaseLost);
    expect(w.leases.raises).toEqual([{ gameId: 'g-1', fence: NEWER }]);
    expect(w.leases.fences.get('g-1')).toBe(NEWER);
    expect(raised(w)).toEqual([]);
  });

  it('reconcile: skipped once, the counter raised, and the next pass corrects the record', async () => {
    const w = world();
    const record = await writtenByNewer(w, await started(w));
    w.leases.fences.set('g-1', 1);
    await w.docker.remove(record.currentContainerId!);
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('skipped_busy');
    expect(w.leases.raises).toEqual([{ gameId: 'g-1', fence: NEWER }]);
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('disappeared');
    expect((await w.records.get('g-1'))?.status).toBe('removed');
  });

  it('a raise that fails is logged, and the Result is the same lease-lost conflict', async () => {
    const w = world();
    await writtenByNewer(w, await started(w));
    w.leases.fences.set('g-1', 1);
    w.leases.raiseFenceAbove = () => Promise.reject(new Error('redis down'));
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(leaseLost);
    expect(w.logger.lines.some((l) => l.level === 'warn' && l.message === 'raise fence counter after a refused write' && l.fields.err === 'redis down')).toBe(
      true,
    );
  });
});
