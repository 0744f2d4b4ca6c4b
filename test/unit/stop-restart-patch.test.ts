import { describe, expect, it } from 'vitest';
import { patchRuntime, restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { IMAGE, OTHER_IMAGE, world } from '../fakes/world.js';
import type { World } from '../fakes/world.js';

const who = { opSource: 'admin_rest' as const, sourceRef: 'op-1' };

async function started(w: World, gameId = 'g-1') {
  const result = await startRuntime(w.deps, { gameId, imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'boot' });
  expect(result.outcome).toBe('success');
  return result.record!;
}

describe('stop', () => {
  it('stops and removes the container, records stopped, keeps the state directory and announces it', async () => {
    const w = world();
    const before = await started(w);
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual({
      outcome: 'success',
      errorCode: null,
      errorMessage: '',
      retryable: false,
      record: { ...before, status: 'stopped', currentContainerId: null, stoppedAt: expect.any(Date), lastOpAt: expect.any(Date) },
    });
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toEqual(result.record);
    expect(result.record?.statePath).toBe(before.statePath);
    expect(w.healthEvents.published.at(-1)).toMatchObject({
      eventType: 'container_exited',
      containerId: before.currentContainerId,
      details: { reason: 'stop_requested', exit_code: 143 },
    });
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'stop', outcome: 'success', imageRef: IMAGE, opSource: 'admin_rest' });
    expect(w.leases.held.size).toBe(0);
  });

  it('stopping a game that is not running is an idempotent success', async () => {
    const w = world();
    await started(w);
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    const again = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(again).toMatchObject({ outcome: 'success', errorCode: 'replay_no_op', record: { status: 'stopped' } });
    const unknown = await stopRuntime(w.deps, { gameId: 'never-started', ...who });
    expect(unknown).toEqual({ outcome: 'success', errorCode: 'replay_no_op', errorMessage: '', record: null, retryable: false });
  });

  it('removes a leftover container of ours even when the record says stopped', async () => {
    const w = world();
    const record = await started(w);
    await w.records.upsert({ ...record, status: 'stopped', currentContainerId: null });
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toMatchObject({ outcome: 'success', errorCode: null });
    expect(w.docker.containers.size).toBe(0);
  });

  it('never stops a foreign container that squats our name', async () => {
    const w = world();
    w.docker.addContainer({ name: 'galaxy-game-g-1', image: 'x', labels: {}, state: 'running', running: true, exitCode: null, oomKilled: false, startedAt: null, finishedAt: null });
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toMatchObject({ outcome: 'success', errorCode: 'replay_no_op' });
    expect(w.docker.containers.size).toBe(1);
    expect(w.docker.calls).not.toContain('stop');
  });

  it('answers service_unavailable (retryable) when the daemon fails, and internal_error when the store does', async () => {
    const w = world();
    await started(w);
    w.docker.daemonDown = true;
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toMatchObject({ outcome: 'failure', errorCode: 'service_unavailable', retryable: true, errorMessage: /^find_container: / });
    w.docker.daemonDown = false;
    w.records.failGet = new Error('db down');
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual({ outcome: 'failure', errorCode: 'internal_error', errorMessage: 'load_record: db down', record: null, retryable: true });
  });

  it('refuses a bad game id and a held lease', async () => {
    const w = world();
    expect(await stopRuntime(w.deps, { gameId: '../x', ...who })).toMatchObject({ outcome: 'failure', errorCode: 'start_config_invalid', retryable: false });
    await w.leases.tryAcquire('g-1', 'other', 60_000);
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toMatchObject({ outcome: 'failure', errorCode: 'conflict', retryable: true });
  });
});

describe('restart', () => {
  it('recreates the container with the same image, hostname, endpoint and state directory, under one lease', async () => {
    const w = world();
    const before = await started(w);
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toMatchObject({ outcome: 'success', errorCode: null, record: { status: 'running', currentImageRef: IMAGE } });
    const after = result.record!;
    expect(after.currentContainerId).not.toBe(before.currentContainerId);
    expect(after.engineEndpoint).toBe(before.engineEndpoint);
    expect(after.statePath).toBe(before.statePath);
    expect(after.createdAt).toEqual(before.createdAt);
    expect(w.docker.containers.size).toBe(1);
    const [container] = await w.docker.listContainers({});
    expect(container?.name).toBe('galaxy-game-g-1');
    expect(w.operations.entries.map((e) => e.opKind)).toEqual(['start', 'start', 'restart']);
    expect(w.leases.releases).toHaveLength(2);
  });

  it('fails clearly when there is nothing to restart', async () => {
    const w = world();
    expect(await restartRuntime(w.deps, { gameId: 'g-9', ...who })).toEqual({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: 'game "g-9" has no runtime to restart',
      record: null,
      retryable: false,
    });
  });

  it('passes the inner start failure through', async () => {
    const w = world();
    await started(w);
    w.docker.failRun = new Error('no space left on device');
    expect(await restartRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual({
      outcome: 'failure',
      errorCode: 'container_start_failed',
      errorMessage: 'no space left on device',
      record: null,
      retryable: false,
    });
    expect((await w.records.get('g-1'))?.status).toBe('stopped');
  });
});

describe('patch', () => {
  it('moves the game onto a new validated image', async () => {
    const w = world();
    await started(w);
    w.docker.images.set(OTHER_IMAGE, {});
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toMatchObject({ outcome: 'success', record: { status: 'running', currentImageRef: OTHER_IMAGE } });
    const [container] = await w.docker.listContainers({});
    expect(container?.labels['com.galaxy.engine_image_ref']).toBe(OTHER_IMAGE);
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'patch', imageRef: OTHER_IMAGE, outcome: 'success' });
  });

  it('refuses a malformed image before touching anything', async () => {
    const w = world();
    await started(w);
    const calls = w.docker.calls.length;
    expect(await patchRuntime(w.deps, { gameId: 'g-1', imageRef: 'Bad Image', ...who })).toMatchObject({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: /^invalid image_ref: /,
    });
    expect(w.docker.calls.length).toBe(calls);
    expect((await w.records.get('g-1'))?.status).toBe('running');
  });
});
