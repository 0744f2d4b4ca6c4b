/**
 * Undo never removes a container that a record or a newer holder names
 * (contract §14). An operation that lost its lease undoes what it created and
 * nobody adopted; a newer holder may adopt that very container (a start's
 * `converge_container` finds it by name) and record it only later. These
 * tests put the old holder's undo and a newer holder side by side at the
 * moments where one could undo the other's work.
 */
import { describe, expect, it } from 'vitest';
import { LEASE_BUSY_MESSAGE } from '../../src/domain/errors.js';
import type { RuntimeRecord } from '../../src/domain/model.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { failure } from '../fakes/results.js';
import { IMAGE, ownContainer, world } from '../fakes/world.js';
import type { World } from '../fakes/world.js';

const TTL = 60_000;
const input = { gameId: 'g-1', imageRef: IMAGE, opSource: 'gm_rest' as const, sourceRef: 'req-1' };

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A start that loses its lease right after it made its container (its
 * process stalled past the TTL before `upsert_record`), and whose undo is
 * frozen right after its first record read, until `thaw` is called.
 */
function oldHolderFrozenInItsUndo(w: World) {
  const frozen = deferred();
  const thaw = deferred();
  let armed = false;
  const get = w.records.get.bind(w.records);
  w.records.get = async (gameId) => {
    const record = await get(gameId);
    if (armed) {
      armed = false;
      frozen.resolve();
      await thaw.promise;
    }
    return record;
  };
  const result = startRuntime(w.deps, input, {
    onStep: (step) => {
      if (step !== 'upsert_record') return;
      w.clock.advance(TTL + 1);
      // The next record read is the undo's: the start stops at this step's second lease check.
      armed = true;
    },
  });
  return { result, frozen: frozen.promise, thaw: thaw.resolve };
}

/** What must hold once everyone is done: the record names a container that exists and runs the image it says. */
function expectRecordTrue(w: World, record: RuntimeRecord | null | undefined): void {
  expect(record?.status).toBe('running');
  const container = w.docker.containers.get(record!.currentContainerId!)?.info;
  expect(container).toBeDefined();
  expect(container!.running).toBe(true);
  expect(container!.labels['com.galaxy.engine_image_ref']).toBe(record!.currentImageRef);
}

describe('undo after a lost lease, raced by a newer holder', () => {
  it('frozen between its record read and its removal while a newer start runs: the newer start never ends on a container the undo removes', async () => {
    const w = world();
    const old = oldHolderFrozenInItsUndo(w);
    await old.frozen;
    const made = [...w.docker.containers.keys()];
    expect(made).toHaveLength(1);

    // The newer holder comes while the old one sits in its undo. Had it
    // adopted the old container now, the old undo would remove it under it.
    const newer = await startRuntime(w.deps, input);
    old.thaw();
    expect(await old.result).toEqual(
      failure('conflict', /^lease lost: a newer operation owns this game \(no renewal confirmed for \d+ ms\)$/, true, 'lease_lost'),
    );
    // The bug this guards against: the newer start adopts the old container, records it, answers success, and the thawed undo removes it.
    const successOnAGoneContainer = newer.outcome === 'success' && !w.docker.containers.has(newer.record!.currentContainerId!);
    expect(successOnAGoneContainer).toBe(false);
    // The undo holds the game while it looks and removes: the newer start waits its turn (a retryable busy conflict).
    expect(newer).toEqual(failure('conflict', LEASE_BUSY_MESSAGE, true, 'lease_busy'));

    const retried = await startRuntime(w.deps, input);
    expect(retried.outcome).toBe('success');
    expectRecordTrue(w, await w.records.get('g-1'));
    expect((await w.records.get('g-1'))?.currentContainerId).toBe(retried.record?.currentContainerId);
    expect(w.docker.containers.size).toBe(1);
    expect(w.leases.held.size).toBe(0);
  });

  it('a newer holder that holds the game when the undo comes: the container is left to it, and it adopts it', async () => {
    const w = world();
    const newerStarted = deferred();
    const newerMayGo = deferred();
    let newer: ReturnType<typeof startRuntime> | null = null;
    const old = await startRuntime(w.deps, input, {
      onStep: async (step) => {
        if (step !== 'upsert_record') return;
        w.clock.advance(TTL + 1);
        // A newer start takes the game and is held at converge_container: the old undo runs meanwhile.
        newer = startRuntime(w.deps, input, {
          onStep: async (s) => {
            if (s !== 'converge_container') return;
            newerStarted.resolve();
            await newerMayGo.promise;
          },
        });
        await newerStarted.promise;
      },
    });
    expect(old).toEqual(failure('conflict', /^lease lost: a newer operation owns this game \(no renewal confirmed for \d+ ms\)$/, true, 'lease_lost'));
    const made = [...w.docker.containers.keys()];
    expect(made).toHaveLength(1);
    expect(w.docker.calls).not.toContain('remove');
    newerMayGo.resolve();
    const result = await newer!;
    expect(result).toMatchObject({ outcome: 'success', record: { currentContainerId: made[0] } });
    expectRecordTrue(w, await w.records.get('g-1'));
    expect(w.logger.lines.some((l) => l.level === 'warn' && /another holder has the game/.test(l.message))).toBe(true);
  });

  it('a newer stop that looked before the container showed and is done: the undo, holding the game, removes what nobody named', async () => {
    const w = world();
    const run = w.docker.run.bind(w.docker);
    w.docker.run = async (spec) => {
      // A create so slow that the lease lapsed meanwhile, and a newer stop took the game, found nothing and ended.
      w.clock.advance(TTL + 1);
      expect(await stopRuntime(w.deps, { gameId: 'g-1', opSource: 'gm_rest', sourceRef: 'req-2' })).toMatchObject({
        outcome: 'success',
        errorCode: 'replay_no_op',
      });
      return run(spec);
    };
    const old = await startRuntime(w.deps, input);
    expect(old).toEqual(failure('conflict', /^lease lost: a newer operation owns this game \(no renewal confirmed for \d+ ms\)$/, true, 'lease_lost'));
    expect(w.docker.calls.filter((c) => c === 'remove')).toHaveLength(1);
    expect(w.docker.containers.size).toBe(0);
    expect(w.leases.held.size).toBe(0);
  });
});

describe('a newer start that adopted a leftover container re-checks it after its record write', () => {
  it('gone by then (removed by a late undo): the record says removed, the start fails retryably, and its re-run starts a fresh one', async () => {
    const w = world();
    // A leftover of a crashed attempt: what the newer start adopts.
    const leftover = w.docker.addContainer(ownContainer('g-1'));
    const upsert = w.records.upsert.bind(w.records);
    let late = true;
    w.records.upsert = async (record, fence) => {
      const written = await upsert(record, fence);
      // The old holder's removal, sent before it lost the game, lands only now.
      if (late && record.currentContainerId === leftover) {
        late = false;
        await w.docker.remove(leftover);
      }
      return written;
    };
    const result = await startRuntime(w.deps, input);
    expect(result).toEqual(
      failure(
        'service_unavailable',
        `upsert_record: the adopted container ${leftover} vanished after the record named it; the re-run starts a fresh one`,
        true,
      ),
    );
    expect(await w.records.get('g-1')).toMatchObject({ status: 'removed', currentContainerId: leftover });
    const rerun = await startRuntime(w.deps, input);
    expect(rerun.outcome).toBe('success');
    expect(rerun.record?.currentContainerId).not.toBe(leftover);
    expectRecordTrue(w, await w.records.get('g-1'));
  });
});
