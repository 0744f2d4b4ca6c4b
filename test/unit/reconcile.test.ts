import { describe, expect, it } from 'vitest';
import { reconcileAll, reconcileGame } from '../../src/domain/reconcile.js';
import { startRuntime } from '../../src/domain/start.js';
import { fakeDigest } from '../fakes/fake-docker-engine.js';
import { IMAGE, IMAGE_LIMITS, ownContainer, world } from '../fakes/world.js';
import type { World } from '../fakes/world.js';

async function started(w: World, gameId: string) {
  const result = await startRuntime(w.deps, { gameId, imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'boot' });
  return result.record!;
}

describe('reconcile', () => {
  it('adopts a running container of ours that has no record', async () => {
    const w = world();
    const id = w.docker.addContainer(ownContainer('g-orphan'));
    const summary = await reconcileAll(w.deps);
    expect(summary).toMatchObject({ containers: 1, adopted: 1, unchanged: 0 });
    expect(await w.records.get('g-orphan')).toMatchObject({
      status: 'running',
      currentContainerId: id,
      currentImageRef: IMAGE,
      engineEndpoint: 'http://galaxy-game-g-orphan:8080',
      statePath: '/srv/game-state/g-orphan',
      startedAt: new Date('2026-11-25T10:00:00Z'),
      // What the adopted container runs and really has, read from it.
      currentImageDigest: fakeDigest(IMAGE),
      effectiveCpuQuota: IMAGE_LIMITS.cpuQuota,
      effectiveMemoryBytes: IMAGE_LIMITS.memoryBytes,
      effectivePidsLimit: IMAGE_LIMITS.pidsLimit,
      // One engine: no node to name.
      nodeId: null,
      nodeHostname: null,
    });
    expect(w.healthEvents.published).toEqual([expect.objectContaining({ gameId: 'g-orphan', eventType: 'container_adopted', containerId: id })]);
    expect(w.operations.entries).toEqual([
      expect.objectContaining({ opKind: 'reconcile_adopt', opSource: 'reconciler', outcome: 'success', imageDigest: fakeDigest(IMAGE) }),
    ]);
  });

  it('records the node an adopted container runs on', async () => {
    const w = world();
    w.docker.addContainer(ownContainer('g-placed', { node: { id: 'n1', hostname: 'host-1' } }));
    expect(await reconcileAll(w.deps)).toMatchObject({ adopted: 1 });
    expect(await w.records.get('g-placed')).toMatchObject({ status: 'running', nodeId: 'n1', nodeHostname: 'host-1' });
  });

  it('records the repo digest an adopted container was pulled by, looked up by its image id', async () => {
    const w = world();
    w.docker.images.delete(IMAGE);
    w.docker.registry.set(IMAGE, {});
    await w.docker.pullImage(IMAGE, 'always');
    w.docker.addContainer(ownContainer('g-pulled'));
    await reconcileAll(w.deps);
    expect((await w.records.get('g-pulled'))?.currentImageDigest).toBe(fakeDigest(`registry:${IMAGE}`));
  });

  it('records the image id of an adopted container whose image is no longer local', async () => {
    const w = world();
    w.docker.addContainer(ownContainer('g-noimage', { imageId: fakeDigest('removed since') }));
    await reconcileAll(w.deps);
    expect(await w.records.get('g-noimage')).toMatchObject({ status: 'running', currentImageDigest: fakeDigest('removed since') });
  });

  it('marks a running record whose container is gone as removed', async () => {
    const w = world();
    const record = await started(w, 'g-gone');
    await w.docker.remove(record.currentContainerId!);
    expect(await reconcileAll(w.deps)).toMatchObject({ disappeared: 1 });
    // The last container's digest and limits stay: the record still names it.
    expect(await w.records.get('g-gone')).toMatchObject({
      status: 'removed',
      stoppedAt: expect.any(Date),
      currentImageDigest: record.currentImageDigest,
      effectiveMemoryBytes: record.effectiveMemoryBytes,
    });
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'reconcile_observe', imageDigest: record.currentImageDigest });
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType: 'container_disappeared', gameId: 'g-gone' });
  });

  it('marks a running record whose container is on a node that stopped answering as removed (container_disappeared), and leaves the others', async () => {
    const w = world();
    const lost = await started(w, 'g-lost');
    const kept = await started(w, 'g-kept');
    w.docker.markUnreachable(lost.currentContainerId!);
    expect(await reconcileAll(w.deps)).toMatchObject({ disappeared: 1, unchanged: 1 });
    expect(await w.records.get('g-lost')).toMatchObject({ status: 'removed', stoppedAt: expect.any(Date) });
    expect(await w.records.get('g-kept')).toEqual(kept);
    expect(w.healthEvents.published.at(-1)).toMatchObject({
      eventType: 'container_disappeared',
      gameId: 'g-lost',
      details: { last_container_id: lost.currentContainerId },
    });
  });

  it.each([
    [false, 'container_exited', 'exited'],
    [true, 'container_oom', 'oom'],
  ] as const)('marks an exited container (oom=%s) with %s', async (oom, eventType, counter) => {
    const w = world();
    const record = await started(w, 'g-dead');
    w.docker.markExited(record.currentContainerId!, oom ? 137 : 3, oom);
    expect(await reconcileAll(w.deps)).toMatchObject({ [counter]: 1 });
    expect(await w.records.get('g-dead')).toMatchObject({ status: 'exited' });
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType, details: { exit_code: oom ? 137 : 3, oom_killed: oom } });
  });

  it('keeps the node a removed or exited record last ran on', async () => {
    const w = world();
    w.docker.node = { id: 'n1', hostname: 'host-1' };
    const gone = await started(w, 'g-gone');
    const dead = await started(w, 'g-dead');
    await w.docker.remove(gone.currentContainerId!);
    w.docker.markExited(dead.currentContainerId!, 3, false);
    expect(await reconcileAll(w.deps)).toMatchObject({ disappeared: 1, exited: 1 });
    expect(await w.records.get('g-gone')).toMatchObject({ status: 'removed', nodeId: 'n1', nodeHostname: 'host-1' });
    expect(await w.records.get('g-dead')).toMatchObject({ status: 'exited', nodeId: 'n1', nodeHostname: 'host-1' });
  });

  it('leaves a true record and a foreign container alone', async () => {
    const w = world();
    await started(w, 'g-fine');
    const foreign = w.docker.addContainer({ ...ownContainer('g-x'), labels: { 'com.galaxy.game_id': 'g-x' } });
    const events = w.healthEvents.published.length;
    expect(await reconcileAll(w.deps)).toMatchObject({ containers: 1, unchanged: 1, adopted: 0 });
    expect(w.docker.containers.has(foreign)).toBe(true);
    expect(await w.records.get('g-x')).toBeNull();
    expect(w.healthEvents.published.length).toBe(events);
  });

  it('skips a game whose lease another operation holds', async () => {
    const w = world();
    w.docker.addContainer(ownContainer('g-busy'));
    await w.leases.tryAcquire('g-busy', 'someone', 60_000);
    expect(await reconcileAll(w.deps)).toMatchObject({ skipped_busy: 1, adopted: 0 });
    expect(await w.records.get('g-busy')).toBeNull();
  });

  it('re-adopts after a restart of the record store left the record pointing at an old container', async () => {
    const w = world();
    const record = await started(w, 'g-moved');
    const newer = w.docker.addContainer(ownContainer('g-moved', { name: 'galaxy-game-g-moved-2' }));
    await w.docker.remove(record.currentContainerId!);
    // Only `galaxy-game-{id}` speaks for a game: the renamed one is ignored.
    expect(await reconcileGame(w.deps, 'g-moved', null)).toBe('disappeared');
    expect(w.docker.containers.has(newer)).toBe(true);
  });
});

describe('reconcileOnEvent', () => {
  it('waits out the operation that holds the lease, then records what happened', async () => {
    const { reconcileOnEvent } = await import('../../src/domain/reconcile.js');
    const w = world();
    const record = await started(w, 'g-ev');
    w.docker.markExited(record.currentContainerId!, 1, false);
    await w.leases.tryAcquire('g-ev', 'stopper', 60_000);
    let waits = 0;
    const action = await reconcileOnEvent(w.deps, 'g-ev', async () => {
      waits += 1;
      if (waits === 3) await w.leases.release('g-ev', 'stopper');
    });
    expect(action).toBe('exited');
    expect(waits).toBe(3);
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType: 'container_exited', gameId: 'g-ev' });
  });

  it('gives up after its attempts while the lease stays held, and ignores an invalid game id label', async () => {
    const { reconcileOnEvent } = await import('../../src/domain/reconcile.js');
    const w = world();
    await w.leases.tryAcquire('g-held', 'forever', 60_000);
    expect(await reconcileOnEvent(w.deps, 'g-held', () => Promise.resolve(), 3)).toBe('skipped_busy');
    expect(await reconcileOnEvent(w.deps, '../x', () => Promise.resolve())).toBe('unchanged');
  });
});
