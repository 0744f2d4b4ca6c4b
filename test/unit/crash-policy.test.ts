/**
 * Contract §15's crash policy in the domain: what the reconciler schedules
 * (a crash, its backoff doubling), and what the crash restart makes of the
 * game when it is due (a restart, a crash loop, or nothing: a stop won, the
 * engine recovered, an earlier run already restarted it).
 */
import { describe, expect, it } from 'vitest';
import type { EngineCrash } from '../../src/domain/model.js';
import { crashRestartRuntime, crashRestartsInWindow } from '../../src/domain/crash-policy.js';
import { reconcileGame } from '../../src/domain/reconcile.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import type { World } from '../fakes/world.js';
import { IMAGE, world } from '../fakes/world.js';

const GAME = 'g-crash';

function policyWorld(max = 2, backoffMs = 1_000): World {
  const w = world();
  w.deps.settings.crashRestart = { max, windowMs: 600_000, backoffMs };
  return w;
}

async function running(w: World): Promise<string> {
  const result = await startRuntime(w.deps, { gameId: GAME, imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'boot' });
  return result.record!.currentContainerId!;
}

/** The engine exits on its own with `code`; the reconciler sees it, and the crash it scheduled is returned. */
async function crashes(w: World, containerId: string, code = 3, oom = false): Promise<EngineCrash | undefined> {
  const before = w.crashRestarts.scheduled.length;
  w.docker.markExited(containerId, code, oom);
  expect(await reconcileGame(w.deps, GAME, null)).toBe(oom ? 'oom' : 'exited');
  return w.crashRestarts.scheduled.slice(before).at(-1)?.crash;
}

let attempts = 0;
const answer = (w: World, crash: EngineCrash) =>
  crashRestartRuntime(w.deps, { gameId: GAME, sourceRef: `crash:${crash.containerId} job:${GAME}#${++attempts}`, crash });
const eventTypes = (w: World) => w.healthEvents.published.map((e) => e.eventType);

describe('crash policy: what the reconciler schedules', () => {
  it('an exit with a code other than 0 and an OOM kill are crashes; an exit 0 is the engine’s own end', async () => {
    const w = policyWorld();
    expect(await crashes(w, await running(w), 3)).toEqual({ containerId: expect.any(String), reason: 'exit', exitCode: 3, oomKilled: false });
    const oom = policyWorld();
    expect(await crashes(oom, await running(oom), 137, true)).toMatchObject({ reason: 'oom', exitCode: 137, oomKilled: true });
    const clean = policyWorld();
    expect(await crashes(clean, await running(clean), 0)).toBeUndefined();
  });

  it('RTMANAGER_CRASH_RESTART_MAX=0 (the default) schedules nothing', async () => {
    const w = policyWorld(0);
    expect(await crashes(w, await running(w), 3)).toBeUndefined();
    expect(await w.records.get(GAME)).toMatchObject({ status: 'exited', lastExitCode: 3 });
  });

  it('the backoff doubles with each crash restart in the window; at the limit it is not waited for', async () => {
    const w = policyWorld(2, 1_000);
    let crash = (await crashes(w, await running(w)))!;
    for (const expected of [1_000, 2_000]) {
      expect(w.crashRestarts.scheduled.at(-1)!.delayMs).toBe(expected);
      const restarted = await answer(w, crash);
      expect(restarted).toMatchObject({ outcome: 'success' });
      crash = (await crashes(w, restarted.record!.currentContainerId!))!;
    }
    expect(w.crashRestarts.scheduled.map((s) => s.delayMs)).toEqual([1_000, 2_000, 0]);
  });
});

describe('crash policy: the crash restart', () => {
  it('restarts the crashed engine: a new container, restart_count and last_exit_code, container_restarted, its own audit row', async () => {
    const w = policyWorld();
    const first = await running(w);
    const crash = (await crashes(w, first, 3))!;
    w.healthEvents.published.length = 0;
    const result = await answer(w, crash);
    expect(result).toMatchObject({ outcome: 'success', record: { status: 'running', restartCount: 1, lastExitCode: 3 } });
    const record = (await w.records.get(GAME))!;
    expect(record.currentContainerId).not.toBe(first);
    expect(w.docker.containers.has(first)).toBe(false);
    // The reconciler told the exit already: the restart tells only what it did.
    expect(eventTypes(w)).toEqual(['container_started', 'container_restarted']);
    expect(w.healthEvents.published.at(-1)).toMatchObject({
      containerId: record.currentContainerId,
      details: { attempt: 1, exit_code: 3, oom_killed: false, reason: 'exit', previous_container_id: first },
    });
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'restart', opSource: 'crash_policy', outcome: 'success' });
    expect(await crashRestartsInWindow(w.deps, GAME)).toBe(1);
  });

  it('at the limit: container_crash_loop, a runtime.container_crash_loop intent, the record stays exited, no more restarts', async () => {
    const w = policyWorld(1);
    const restarted = await answer(w, (await crashes(w, await running(w), 3))!);
    const second = restarted.record!.currentContainerId!;
    const crash = (await crashes(w, second, 4))!;
    const containers = w.docker.containers.size;
    const result = await answer(w, crash);
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'container_start_failed', retryable: false });
    expect(result.errorMessage).toMatch(/^crash loop: .*exit code 4.* after 1 crash restart/);
    expect(await w.records.get(GAME)).toMatchObject({ status: 'exited', currentContainerId: second, restartCount: 1, lastExitCode: 4 });
    expect(w.docker.containers.size).toBe(containers);
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType: 'container_crash_loop', details: { restarts: 1, window_ms: 600_000, exit_code: 4 } });
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.container_crash_loop']);
  });

  it('a stop accepted meanwhile wins: the crash restart finds the game stopped and changes nothing', async () => {
    const w = policyWorld();
    const crash = (await crashes(w, await running(w)))!;
    expect(await stopRuntime(w.deps, { gameId: GAME, opSource: 'gm_rest', sourceRef: 'stop' })).toMatchObject({ outcome: 'success' });
    const result = await answer(w, crash);
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'superseded', retryable: false });
    expect(result.errorMessage).toMatch(/a game stopped by an operation is never restarted/);
    expect(await w.records.get(GAME)).toMatchObject({ status: 'stopped', restartCount: 0 });
    expect(w.docker.containers.size).toBe(0);
  });

  it('an operator’s start opens a new window: crash restarts before it are not counted', async () => {
    const w = policyWorld(1);
    await answer(w, (await crashes(w, await running(w)))!);
    expect(await crashRestartsInWindow(w.deps, GAME)).toBe(1);
    await stopRuntime(w.deps, { gameId: GAME, opSource: 'gm_rest', sourceRef: 'stop' });
    await running(w);
    expect(await crashRestartsInWindow(w.deps, GAME)).toBe(0);
  });

  it('restarts counted only within RTMANAGER_CRASH_RESTART_WINDOW_MS', async () => {
    const w = policyWorld(1);
    await answer(w, (await crashes(w, await running(w)))!);
    w.clock.advance(600_001);
    expect(await crashRestartsInWindow(w.deps, GAME)).toBe(0);
  });

  it('an engine that turned unhealthy is restarted only if it stayed so; one that recovered is left running', async () => {
    const w = policyWorld();
    const id = await running(w);
    w.docker.setHealth(id, 'unhealthy');
    expect(await reconcileGame(w.deps, GAME, null)).toBe('health_changed');
    const crash = w.crashRestarts.scheduled.at(-1)!.crash;
    expect(crash).toEqual({ containerId: id, reason: 'unhealthy', exitCode: null, oomKilled: false });

    w.docker.setHealth(id, 'healthy');
    expect(await answer(w, crash)).toMatchObject({ outcome: 'failure', errorCode: 'superseded', errorMessage: 'superseded: the engine is healthy again' });
    expect((await w.records.get(GAME))!.currentContainerId).toBe(id);

    w.docker.setHealth(id, 'unhealthy');
    const result = await answer(w, crash);
    expect(result).toMatchObject({ outcome: 'success', record: { restartCount: 1 } });
    expect(result.record!.currentContainerId).not.toBe(id);
    // This stop ended a running engine: that exit is news, by operation.
    expect(w.healthEvents.published.find((e) => e.eventType === 'container_exited' && e.containerId === id)).toMatchObject({
      details: { stopped_by: 'operation' },
    });
  });

  it('a run of the same attempt after its worker died past the start restarts nothing more: it ends as the first run would have', async () => {
    const w = policyWorld();
    const crash = (await crashes(w, await running(w)))!;
    const input = { gameId: GAME, sourceRef: `crash:${crash.containerId} job:${GAME}#1`, crash };
    // The first run stops for good (its worker is gone) once the start it made is recorded.
    let outerSteps = 0;
    void crashRestartRuntime(w.deps, input, {
      onStep: (step) => (step === 'publish_success' && ++outerSteps === 2 ? new Promise<void>(() => undefined) : undefined),
    });
    await expect.poll(() => outerSteps).toBe(2);
    const containers = [...w.docker.containers.keys()];
    w.clock.advance(w.deps.settings.leaseTtlMs + 1);

    const again = await crashRestartRuntime(w.deps, input);
    expect(again).toMatchObject({ outcome: 'success', record: { restartCount: 1 } });
    expect([...w.docker.containers.keys()]).toEqual(containers);
    expect(eventTypes(w).filter((t) => t === 'container_restarted')).toHaveLength(1);
  });

  it.each(['exit', 'unhealthy'] as const)(
    'a %s crash whose restart died after it took the engine down is answered by the next run: one restart, not none',
    async (reason) => {
      const w = policyWorld();
      const id = await running(w);
      let crash: EngineCrash;
      if (reason === 'exit') crash = (await crashes(w, id))!;
      else {
        w.docker.setHealth(id, 'unhealthy');
        await reconcileGame(w.deps, GAME, null);
        crash = w.crashRestarts.scheduled.at(-1)!.crash;
      }
      const input = { gameId: GAME, sourceRef: `crash:${id} job:${GAME}#1`, crash };
      let down = false;
      void crashRestartRuntime(w.deps, input, { onStep: (step) => (step === 'start' ? ((down = true), new Promise<void>(() => undefined)) : undefined) });
      await expect.poll(() => down).toBe(true);
      // Down, and not `stopped`: only an operator's stop says that.
      expect(await w.records.get(GAME)).toMatchObject({ status: 'exited', currentContainerId: id });
      expect(w.docker.containers.size).toBe(0);
      w.clock.advance(w.deps.settings.leaseTtlMs + 1);

      expect(await crashRestartRuntime(w.deps, input)).toMatchObject({ outcome: 'success', record: { status: 'running', restartCount: 1 } });
      expect(w.docker.containers.size).toBe(1);
    },
  );
});
