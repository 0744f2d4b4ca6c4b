/**
 * The ends of accepted requests that no pipeline reaches (contract §14), and
 * the end an attempt already wrote (a stalled re-run must not run it twice).
 */
import { describe, expect, it } from 'vitest';
import { LEASE_BUSY_MESSAGE, LEASE_LOST_MESSAGE, leaseConflictOfRow } from '../../src/domain/errors.js';
import { endedAttempt, endSuperseded, endWaitedTooLong, JOINED_NOTE, recordJoinedEnd } from '../../src/domain/request-ends.js';
import { startRuntime } from '../../src/domain/start.js';
import { IMAGE, world } from '../fakes/world.js';

const request = (sourceRef: string) => ({ gameId: 'g-1', imageRef: IMAGE, opSource: 'gm_rest' as const, sourceRef });

describe('request ends', () => {
  it('superseded: a failure never retried, one audit row, no notification', async () => {
    const w = world();
    const result = await endSuperseded(w.deps, 'start', request('r-1 job:g-1#1'), 'a later stop');
    expect(result).toEqual({ outcome: 'failure', errorCode: 'superseded', errorMessage: 'superseded: a later stop', record: null, retryable: false });
    expect(await w.operations.listByGame('g-1', 10)).toMatchObject([
      { opKind: 'start', outcome: 'failure', errorCode: 'superseded', sourceRef: 'r-1 job:g-1#1' },
    ]);
    expect(w.notifications.published).toEqual([]);
  });

  it('waited too long: the lease-busy conflict, retryable for its caller, one audit row', async () => {
    const w = world();
    const result = await endWaitedTooLong(w.deps, 'stop', { ...request('r-2'), imageRef: '' });
    expect(result).toEqual({ outcome: 'failure', errorCode: 'conflict', errorMessage: LEASE_BUSY_MESSAGE, record: null, retryable: true, lease: 'lease_busy' });
    expect(await w.operations.listByGame('g-1', 10)).toMatchObject([{ opKind: 'stop', outcome: 'failure', errorCode: 'conflict' }]);
  });

  it("joined: the carrier's outcome under the joiner's own source; a success names the carrier", async () => {
    const w = world();
    const carrier = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, opSource: 'lobby_stream', sourceRef: 'first' });
    await recordJoinedEnd(w.deps, 'start', { ...request('second'), opSource: 'admin_rest' }, carrier, 'first');
    const failure = { outcome: 'failure', errorCode: 'image_pull_failed', errorMessage: 'no such tag', record: null, retryable: false } as const;
    await recordJoinedEnd(w.deps, 'start', request('third'), failure, 'first');
    const [third, second] = await w.operations.listByGame('g-1', 2);
    expect(second).toMatchObject({ opSource: 'admin_rest', sourceRef: 'second', outcome: 'success', errorCode: '', errorMessage: `${JOINED_NOTE} first` });
    expect(second?.containerId).toBe(carrier.record?.currentContainerId);
    expect(third).toMatchObject({ sourceRef: 'third', outcome: 'failure', errorCode: 'image_pull_failed', errorMessage: 'no such tag', containerId: '' });
  });

  it('an attempt that wrote its end is found by its source ref, and its Result rebuilt; another attempt is not', async () => {
    const w = world();
    const started = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'r job:g-1#1' });
    expect(await endedAttempt(w.deps, 'start', 'g-1', 'r job:g-1#1')).toEqual({ ...started, record: await w.records.get('g-1') });
    expect(await endedAttempt(w.deps, 'start', 'g-1', 'r job:g-1#2')).toBeNull();
    // Same source ref, another kind: not this attempt's row.
    expect(await endedAttempt(w.deps, 'stop', 'g-1', 'r job:g-1#1')).toBeNull();
    await endWaitedTooLong(w.deps, 'stop', { ...request('s job:g-1#1'), imageRef: '' });
    expect(await endedAttempt(w.deps, 'stop', 'g-1', 's job:g-1#1')).toMatchObject({ errorCode: 'conflict', retryable: true, lease: 'lease_busy' });
    await endSuperseded(w.deps, 'patch', request('p job:g-1#1'), 'a later stop');
    expect(await endedAttempt(w.deps, 'patch', 'g-1', 'p job:g-1#1')).toMatchObject({ errorCode: 'superseded', retryable: false });
  });

  it("reads a lease conflict's reason back from its row by the message it was written with, and no other conflict's", () => {
    expect(leaseConflictOfRow({ errorCode: 'conflict', errorMessage: LEASE_BUSY_MESSAGE })).toBe('lease_busy');
    expect(leaseConflictOfRow({ errorCode: 'conflict', errorMessage: LEASE_LOST_MESSAGE })).toBe('lease_lost');
    expect(leaseConflictOfRow({ errorCode: 'conflict', errorMessage: `${LEASE_LOST_MESSAGE} (the job lost its lock: job lock lost)` })).toBe('lease_lost');
    expect(leaseConflictOfRow({ errorCode: 'conflict', errorMessage: 'runtime already running with image_ref "x"' })).toBeUndefined();
    expect(leaseConflictOfRow({ errorCode: 'internal_error', errorMessage: LEASE_BUSY_MESSAGE })).toBeUndefined();
  });
});
