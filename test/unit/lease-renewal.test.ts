/**
 * Leases that hold (contract §10): the holder renews its lease every third
 * of the TTL while it works, and an operation whose lease is lost — a renewal
 * refused, no renewal confirmed for a whole TTL (its process stalled), or its
 * job's lock lost — stops at the next step, makes no further change to Docker
 * or the record, and removes what it created that nobody adopted.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StepName } from '../../src/domain/lifecycle.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { failure } from '../fakes/results.js';
import { IMAGE, world } from '../fakes/world.js';
import type { World } from '../fakes/world.js';

const TTL = 60_000;
const who = { opSource: 'gm_rest' as const, sourceRef: 'req-1' };
const lost = (why: RegExp) => failure('conflict', new RegExp(`^lease lost: a newer operation owns this game \\(${why.source}\\)$`), true, 'lease_lost');

afterEach(() => {
  vi.useRealTimers();
});

/** Runs `act` right after the daemon made the container: between run_container and the record write. */
function afterRun(w: World, act: () => void | Promise<void>): void {
  const run = w.docker.run.bind(w.docker);
  w.docker.run = async (spec) => {
    const made = await run(spec);
    await act();
    return made;
  };
}

/** Runs `act` when the start reaches `at` (the step's lease is checked again after it). */
function startWith(w: World, at: StepName, act: () => void | Promise<void>, signal?: AbortSignal) {
  return startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who }, { onStep: (s) => (s === at ? act() : undefined), ...(signal ? { signal } : {}) });
}

describe('renewal', () => {
  it('renews every third of the TTL, so a start that outlives its first TTL keeps its lease', async () => {
    vi.useFakeTimers();
    const w = world();
    let renewedTo = 0;
    const result = await startWith(w, 'pull_image', async () => {
      w.clock.advance(TTL - 10_000);
      await vi.advanceTimersByTimeAsync(TTL / 3);
      renewedTo = w.leases.held.get('g-1')!.expiresAtMs;
      // Past the first TTL: only the renewal keeps the lease.
      w.clock.advance(20_000);
    });
    expect(result.outcome).toBe('success');
    expect(renewedTo).toBeGreaterThan(TTL + 40_000);
    expect(w.records.fences.get('g-1')).toBe(1);
  });

  it('a renewal refused stops the start at its next step and removes the container it made', async () => {
    vi.useFakeTimers();
    const w = world();
    afterRun(w, async () => {
      // Another holder took the game (our lease lapsed meanwhile, say): the next renewal is refused.
      w.leases.held.set('g-1', { token: 'newer', expiresAtMs: Number.MAX_SAFE_INTEGER });
      await vi.advanceTimersByTimeAsync(TTL / 3);
      // That holder is done when our undo comes (one still holding it would be left the container: lease-undo.test.ts).
      w.leases.held.delete('g-1');
    });
    const result = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who });
    expect(result).toEqual(lost(/its renewal was refused: it expired or another holder took it/));
    // The container was made in run_container; the record step never ran, and the container is gone.
    expect(w.docker.calls).toContain('run');
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toBeNull();
    expect(w.operations.entries.map((e) => [e.opKind, e.outcome, e.errorCode])).toEqual([['start', 'failure', 'conflict']]);
    expect(w.notifications.published).toEqual([]);
  });
});

describe('a lease that may have expired', () => {
  it("a step that fails after its holder stalled past the TTL ends lease-lost, not with the step's own verdict (its container was removed meanwhile)", async () => {
    const w = world();
    // Frozen inside run_container past the TTL; when it wakes, the daemon has no such container any more.
    w.docker.run = () => {
      w.clock.advance(TTL + 1);
      return Promise.reject(new Error('No such container: c-gone'));
    };
    const result = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who });
    expect(result).toEqual(lost(/no renewal confirmed for \d+ ms/));
    expect(w.operations.entries.map((e) => [e.opKind, e.outcome, e.errorCode])).toEqual([['start', 'failure', 'conflict']]);
    // No admin notification: the start did not fail, its holder lost the game.
    expect(w.notifications.published).toEqual([]);
  });

  it('a holder that stalled past its TTL with no renewal confirmed stops at its next step and undoes its container', async () => {
    const w = world();
    afterRun(w, () => w.clock.advance(TTL + 1));
    const result = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who });
    expect(result).toEqual(lost(/no renewal confirmed for \d+ ms/));
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toBeNull();
  });

  it('a container the newer holder already recorded is left alone when our write is refused', async () => {
    const w = world();
    let made = '';
    // The newer holder adopts our container (writes a record naming it) before we notice the loss.
    const result = await startRuntime(
      w.deps,
      { gameId: 'g-1', imageRef: IMAGE, ...who },
      {
        onStep: async (s) => {
          if (s !== 'upsert_record') return;
          made = [...w.docker.containers.keys()][0]!;
          await w.records.upsert(recordNaming(w, made), 99);
        },
      },
    );
    // Our own write is then refused for its fence, and what we would undo is theirs.
    expect(result).toEqual(failure('conflict', 'lease lost: a newer operation owns this game', true, 'lease_lost'));
    expect(w.docker.containers.has(made)).toBe(true);
    expect((await w.records.get('g-1'))?.currentContainerId).toBe(made);
  });
});

function recordNaming(w: World, containerId: string) {
  const now = w.clock.now();
  return {
    gameId: 'g-1',
    status: 'running' as const,
    currentContainerId: containerId,
    currentImageRef: IMAGE,
    engineEndpoint: 'http://galaxy-game-g-1:8080',
    statePath: '/srv/game-state/g-1',
    dockerNetwork: 'galaxy-engines',
    startedAt: now,
    stoppedAt: null,
    lastOpAt: now,
    createdAt: now,
    currentImageDigest: null,
    effectiveCpuQuota: null,
    effectiveMemoryBytes: null,
    effectivePidsLimit: null,
    nodeId: null,
    nodeHostname: null,
    health: 'none' as const,
    restartCount: 0,
    lastExitCode: null,
  };
}

describe('a step held up by its hook', () => {
  it('is looked at again when the hook returns: a holder frozen there changes nothing', async () => {
    const w = world();
    const result = await startWith(w, 'run_container', () => w.clock.advance(TTL + 1));
    expect(result).toEqual(lost(/no renewal confirmed for \d+ ms/));
    expect(w.docker.calls).not.toContain('run');
  });
});

describe('the job lost its lock', () => {
  it('before the lease was taken: a lease-lost Result, no lease taken, nothing touched', async () => {
    const w = world();
    const lock = new AbortController();
    lock.abort('job lock lost');
    const result = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who }, { signal: lock.signal });
    expect(result).toEqual(lost(/the job lost its lock: job lock lost/));
    expect(w.leases.fences.size).toBe(0);
    expect(w.docker.calls).toEqual([]);
  });

  it('stops at the next step: nothing is created', async () => {
    const w = world();
    const lock = new AbortController();
    const result = await startWith(w, 'pull_image', () => lock.abort('job lock lost'), lock.signal);
    expect(result).toEqual(lost(/the job lost its lock: job lock lost/));
    expect(w.docker.calls).not.toContain('run');
    expect(w.leases.held.size).toBe(0);
  });

  it('a stop stops too, before it touches the container', async () => {
    const w = world();
    expect((await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who })).outcome).toBe('success');
    const lock = new AbortController();
    const result = await stopRuntime(
      w.deps,
      { gameId: 'g-1', ...who },
      { onStep: (s) => (s === 'find_container' ? lock.abort('job lock lost') : undefined), signal: lock.signal },
    );
    expect(result).toEqual(lost(/the job lost its lock: job lock lost/));
    expect(w.docker.calls).not.toContain('stop');
    expect((await w.records.get('g-1'))?.status).toBe('running');
  });
});
