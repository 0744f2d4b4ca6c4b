import { describe, expect, it } from 'vitest';
import { reconcileAll } from '../../src/domain/reconcile.js';
import { patchRuntime, restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { failure } from '../fakes/results.js';
import type { World } from '../fakes/world.js';
import { IMAGE, OTHER_IMAGE, ownContainer, world } from '../fakes/world.js';

/** Contract §15 on the domain: the stop labels of an image, the container they make, and the exit a stop (or the engine) ends in. */
const who = { opSource: 'admin_rest' as const, sourceRef: 'op-1' };
const LIMITS = { 'com.galaxy.cpu_quota': '1', 'com.galaxy.memory': '256m', 'com.galaxy.pids_limit': '64' };
/** Traps SIGINT, flushes and exits 0. */
const GRACEFUL = 'registry.galaxy.test/engines/graceful:1';
/** Ignores its signal: killed at its own timeout. */
const STUBBORN = 'registry.galaxy.test/engines/stubborn:1';

function graceWorld(): World {
  const w = world();
  w.docker.images.set(GRACEFUL, { ...LIMITS, 'com.galaxy.stop_signal': 'int', 'com.galaxy.stop_timeout': '45' });
  w.docker.stopBehaviour.set(GRACEFUL, 0);
  w.docker.images.set(STUBBORN, { ...LIMITS, 'com.galaxy.stop_signal': 'SIGUSR1', 'com.galaxy.stop_timeout': '2' });
  w.docker.stopBehaviour.set(STUBBORN, 'ignores');
  return w;
}

async function started(w: World, imageRef: string, gameId = 'g-1') {
  const result = await startRuntime(w.deps, { gameId, imageRef, ...who });
  expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'success' });
  return result.record!;
}

const specOf = (w: World, containerId: string | null) => w.docker.specOf(containerId!)!;

describe('graceful stop: what the image asks is set on its container', () => {
  it('the labels give the signal (any case, with or without SIG) and the timeout', async () => {
    const w = graceWorld();
    const record = await started(w, GRACEFUL);
    expect(specOf(w, record.currentContainerId)).toMatchObject({ stopSignal: 'SIGINT', stopTimeoutSeconds: 45 });
    expect(await w.docker.inspectContainer(record.currentContainerId!)).toMatchObject({ stopSignal: 'SIGINT', stopTimeoutSeconds: 45 });
  });

  it("without labels: the image's own STOPSIGNAL, and RTMANAGER_STOP_TIMEOUT_SECONDS", async () => {
    const w = graceWorld();
    w.docker.imageStopSignals.set(IMAGE, 'SIGQUIT');
    const record = await started(w, IMAGE);
    expect(specOf(w, record.currentContainerId)).toMatchObject({ stopSignal: 'SIGQUIT', stopTimeoutSeconds: w.deps.settings.stopTimeoutSeconds });
  });

  it('a label above its ceiling (or a signal off the list) is start_config_invalid naming each: nothing runs, nothing is written but the refusal', async () => {
    const w = graceWorld();
    const bad = 'registry.galaxy.test/engines/bad:1';
    w.docker.images.set(bad, { ...LIMITS, 'com.galaxy.stop_signal': 'SIGKILL', 'com.galaxy.stop_timeout': '301', 'com.galaxy.memory': '1p' });
    const result = await startRuntime(w.deps, { gameId: 'g-bad', imageRef: bad, ...who });
    expect(result).toEqual(
      failure(
        'start_config_invalid',
        'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY); ' +
          'image label com.galaxy.stop_signal=SIGKILL is not one of SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGPWR; ' +
          'image label com.galaxy.stop_timeout=301 is above the maximum 300 (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)',
        false,
      ),
    );
    expect(w.docker.calls).not.toContain('run');
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-bad')).toBeNull();
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.start_config_invalid']);
    expect(w.operations.entries.map((e) => [e.opKind, e.errorCode, e.exitCode])).toEqual([['start', 'start_config_invalid', null]]);
  });

  it('the ceiling is the configured one', async () => {
    const w = graceWorld();
    w.deps.settings.maxStopTimeoutSeconds = 30;
    expect(await startRuntime(w.deps, { gameId: 'g-1', imageRef: GRACEFUL, ...who })).toEqual(
      failure('start_config_invalid', 'image label com.galaxy.stop_timeout=45 is above the maximum 30 (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)', false),
    );
  });
});

describe('graceful stop: the exit a stop ends in', () => {
  it("waits the container's own timeout, not the configured one; the exit code in the audit row, the event and the record", async () => {
    const w = graceWorld();
    const record = await started(w, GRACEFUL);
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toMatchObject({ outcome: 'success', errorCode: null, record: { status: 'stopped', lastExitCode: 0 } });
    expect(w.docker.stopTimeouts).toEqual([[record.currentContainerId, 45]]);
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'stop', outcome: 'success', exitCode: 0 });
    expect(w.healthEvents.published.at(-1)).toMatchObject({
      eventType: 'container_exited',
      containerId: record.currentContainerId,
      details: { reason: 'stop_requested', exit_code: 0, oom_killed: false, stopped_by: 'operation' },
    });
    expect(await w.records.get('g-1')).toMatchObject({ lastExitCode: 0 });
  });

  it('an engine that ignores its signal is killed at its timeout: 137', async () => {
    const w = graceWorld();
    const record = await started(w, STUBBORN);
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(w.docker.stopTimeouts).toEqual([[record.currentContainerId, 2]]);
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'stop', exitCode: 137 });
    expect(w.healthEvents.published.at(-1)).toMatchObject({ details: { exit_code: 137, oom_killed: false, stopped_by: 'operation' } });
  });

  it('a container created without a stop timeout (before contract §15) is given the configured one', async () => {
    const w = graceWorld();
    const id = w.docker.addContainer(ownContainer('g-1'));
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(w.docker.stopTimeouts).toEqual([[id, w.deps.settings.stopTimeoutSeconds]]);
  });

  it('an engine that had already exited on its own was not stopped by the operation: stopped_by engine, with its own code', async () => {
    const w = graceWorld();
    const record = await started(w, GRACEFUL);
    w.docker.markExited(record.currentContainerId!, 3, false);
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(w.docker.stopTimeouts).toEqual([]);
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'stop', exitCode: 3 });
    expect(w.healthEvents.published.at(-1)).toMatchObject({ details: { exit_code: 3, oom_killed: false, stopped_by: 'engine' } });
    expect(await w.records.get('g-1')).toMatchObject({ status: 'stopped', lastExitCode: 3 });
  });

  it('a stop with no engine to stop has no exit code, and keeps the last one known', async () => {
    const w = graceWorld();
    // An engine that exited 7 on its own, seen by the reconciler; the game started again (which keeps the code).
    const first = await started(w, GRACEFUL);
    w.docker.markExited(first.currentContainerId!, 7, false);
    await reconcileAll(w.deps);
    const record = await started(w, GRACEFUL);
    expect(record.lastExitCode).toBe(7);
    await w.docker.remove(record.currentContainerId!);
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'stop', exitCode: null });
    expect(await w.records.get('g-1')).toMatchObject({ status: 'stopped', lastExitCode: 7 });
  });

  it("a restart's row carries the exit code of the engine it stopped; the new engine keeps the image's stop", async () => {
    const w = graceWorld();
    await started(w, GRACEFUL);
    const after = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(after).toMatchObject({ outcome: 'success', record: { status: 'running', lastExitCode: 0 } });
    expect(w.operations.entries.map((e) => [e.opKind, e.exitCode])).toEqual([
      ['start', null],
      ['start', null],
      ['restart', 0],
    ]);
    expect(w.healthEvents.published.find((e) => e.eventType === 'container_exited')?.details).toMatchObject({
      reason: 'restart_requested',
      exit_code: 0,
      stopped_by: 'operation',
    });
    expect(specOf(w, after.record!.currentContainerId)).toMatchObject({ stopSignal: 'SIGINT', stopTimeoutSeconds: 45 });
  });
});

describe('graceful stop: restart and patch check the stop labels before they stop anything (contract §14)', () => {
  it('a restart whose image now asks for too long a stop is refused, and the engine keeps running', async () => {
    const w = graceWorld();
    const before = await started(w, GRACEFUL);
    w.deps.settings.maxStopTimeoutSeconds = 20;
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(
      failure('start_config_invalid', 'image label com.galaxy.stop_timeout=45 is above the maximum 20 (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)', false),
    );
    expect(w.docker.calls).not.toContain('stop');
    expect(await w.records.get('g-1')).toEqual(before);
  });

  it('a patch onto an image with an unknown stop signal is refused before the stop', async () => {
    const w = graceWorld();
    const before = await started(w, GRACEFUL);
    w.docker.images.set(OTHER_IMAGE, { ...LIMITS, 'com.galaxy.stop_signal': 'SIGSEGV' });
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toMatchObject({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: expect.stringMatching(/^image label com\.galaxy\.stop_signal=SIGSEGV is not one of /),
    });
    expect(w.docker.calls).not.toContain('stop');
    expect(await w.records.get('g-1')).toEqual(before);
  });
});

describe('graceful stop: an exit nobody asked for', () => {
  it.each([
    [false, 2, 'container_exited'],
    [true, 137, 'container_oom'],
  ] as const)('the reconciler tells it stopped_by engine (oom=%s), and the record keeps its exit code', async (oom, code, eventType) => {
    const w = graceWorld();
    const record = await started(w, GRACEFUL);
    w.docker.markExited(record.currentContainerId!, code, oom);
    await reconcileAll(w.deps);
    expect(await w.records.get('g-1')).toMatchObject({ status: 'exited', lastExitCode: code });
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType, details: { exit_code: code, oom_killed: oom, stopped_by: 'engine' } });
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'reconcile_observe', exitCode: code });
  });
});
