import { describe, expect, it } from 'vitest';
import { LEASE_BUSY_MESSAGE } from '../../src/domain/errors.js';
import type { RuntimeRecord } from '../../src/domain/model.js';
import { patchRuntime, restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { STOP_STEPS, stopRuntime } from '../../src/domain/stop.js';
import { fakeDigest } from '../fakes/fake-docker-engine.js';
import { failure } from '../fakes/results.js';
import { IMAGE, OTHER_IMAGE, ownContainer, world } from '../fakes/world.js';
import type { World } from '../fakes/world.js';

const who = { opSource: 'admin_rest' as const, sourceRef: 'op-1' };

async function started(w: World, gameId = 'g-1') {
  const result = await startRuntime(w.deps, { gameId, imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'boot' });
  expect(result.outcome).toBe('success');
  return result.record!;
}

const success = (record: RuntimeRecord | null, errorCode: null | 'replay_no_op' = null) => ({
  outcome: 'success',
  errorCode,
  errorMessage: '',
  record,
  retryable: false,
});

/** The record a stop leaves: the same game and image digest, stopped, no container and so no limits or node, both times the stop's. */
const stoppedFrom = (before: RuntimeRecord): RuntimeRecord => ({
  ...before,
  status: 'stopped',
  currentContainerId: null,
  stoppedAt: expect.any(Date) as Date,
  lastOpAt: expect.any(Date) as Date,
  effectiveCpuQuota: null,
  effectiveMemoryBytes: null,
  effectivePidsLimit: null,
  nodeId: null,
  nodeHostname: null,
  // The fake's engine died of the default stop signal, SIGTERM, behind its init: 128 + 15.
  lastExitCode: 143,
});

/** [op_kind, outcome, error_code] of every audit row, oldest first. */
const audit = (w: World) => w.operations.entries.map((e) => [e.opKind, e.outcome, e.errorCode]);

/** A container of ours under the game's name that no record names: what a crashed attempt leaves. */
const leftByCrash = (w: World) => w.docker.addContainer(ownContainer('g-1'));

describe('stop', () => {
  it('stops and removes the container, records stopped, keeps the state directory and announces it', async () => {
    const w = world();
    const before = await started(w);
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(stoppedFrom(before)));
    expect(result.record?.currentImageDigest).toBe(fakeDigest(IMAGE));
    expect(result.record?.stoppedAt).toEqual(result.record?.lastOpAt);
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toEqual(result.record);
    expect(w.healthEvents.published.at(-1)).toEqual({
      gameId: 'g-1',
      eventType: 'container_exited',
      containerId: before.currentContainerId,
      occurredAt: result.record?.stoppedAt,
      details: { reason: 'stop_requested', exit_code: 143, oom_killed: false, stopped_by: 'operation' },
    });
    expect(w.telemetry.healthEvents).toEqual(['container_started', 'container_exited']);
    expect(w.operations.entries.at(-1)).toEqual({
      id: 2,
      gameId: 'g-1',
      opKind: 'stop',
      opSource: 'admin_rest',
      sourceRef: 'op-1',
      imageRef: IMAGE,
      // The digest of the image the game ran, from the record.
      imageDigest: fakeDigest(IMAGE),
      containerId: '',
      outcome: 'success',
      errorCode: '',
      errorMessage: '',
      startedAt: expect.any(Date),
      finishedAt: expect.any(Date),
      // Contract §15: the code the stopped engine exited with.
      exitCode: 143,
    });
    // A stop is not a start: the start counter saw only the boot.
    expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'success', errorCode: '', opSource: 'gm_rest' }]);
    expect(w.leases.held.size).toBe(0);
    expect(w.leases.releases).toEqual([
      { gameId: 'g-1', token: 'token-1' },
      { gameId: 'g-1', token: 'token-2' },
    ]);
  });

  it('on a cluster: the node goes with the container', async () => {
    const w = world();
    w.docker.node = { id: 'n1', hostname: 'host-1' };
    const before = await started(w);
    expect(before).toMatchObject({ nodeId: 'n1', nodeHostname: 'host-1' });
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(stoppedFrom(before)));
    expect(await w.records.get('g-1')).toMatchObject({ status: 'stopped', nodeId: null, nodeHostname: null });
  });

  it('logs each of its steps by name', async () => {
    const w = world();
    await started(w);
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    const steps = w.logger.lines.filter((l) => l.message === 'stop step').map((l) => l.fields.step);
    expect(steps).toEqual(STOP_STEPS.filter((s) => s !== 'validate_input'));
    expect(w.logger.lines.find((l) => l.message === 'runtime stopped')).toMatchObject({
      level: 'info',
      fields: { op_kind: 'stop', game_id: 'g-1', step: 'publish_success' },
    });
  });

  it('of a game with no record and no container: replay_no_op, nothing written but the audit row', async () => {
    const w = world();
    const result = await stopRuntime(w.deps, { gameId: 'never-started', ...who });
    expect(result).toEqual(success(null, 'replay_no_op'));
    expect(w.docker.calls).toEqual(['inspectContainer']);
    expect(w.records.records.size).toBe(0);
    expect(w.healthEvents.published).toEqual([]);
    expect(w.operations.entries).toEqual([
      expect.objectContaining({ gameId: 'never-started', opKind: 'stop', imageRef: '', outcome: 'success', errorCode: 'replay_no_op' }),
    ]);
    expect(w.leases.held.size).toBe(0);
  });

  it('of a record already stopped, with no container: replay_no_op with the record as it was', async () => {
    const w = world();
    await started(w);
    const first = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    const events = w.healthEvents.published.length;
    const calls = w.docker.calls.length;
    const again = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(again).toEqual(success(first.record, 'replay_no_op'));
    expect(await w.records.get('g-1')).toEqual(first.record);
    // Only the lookup by name: the stopped record names no container.
    expect(w.docker.calls.slice(calls)).toEqual(['inspectContainer']);
    expect(w.healthEvents.published).toHaveLength(events);
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['stop', 'success', ''],
      ['stop', 'success', 'replay_no_op'],
    ]);
  });

  it('removes a leftover container of ours even when the record says stopped, and announces it', async () => {
    const w = world();
    const record = await started(w);
    const stale = { ...record, status: 'stopped' as const, currentContainerId: null };
    await w.records.upsert(stale, 0);
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(stoppedFrom(stale)));
    expect(w.docker.containers.size).toBe(0);
    expect(w.healthEvents.published.at(-1)).toMatchObject({
      eventType: 'container_exited',
      containerId: record.currentContainerId,
      details: { reason: 'stop_requested' },
    });
  });

  it('removes a container a crashed start left before it wrote any record, and writes none', async () => {
    const w = world();
    leftByCrash(w);
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(null));
    expect(w.docker.containers.size).toBe(0);
    expect(w.records.records.size).toBe(0);
    expect(audit(w)).toEqual([['stop', 'success', '']]);
  });

  it('finds the container by name when the one the record names is gone', async () => {
    const w = world();
    const before = await started(w);
    await w.docker.remove(before.currentContainerId!);
    const orphan = leftByCrash(w);
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(stoppedFrom(before)));
    expect(w.docker.containers.has(orphan)).toBe(false);
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType: 'container_exited', containerId: orphan });
  });

  it('records stopped a running record whose container vanished, without a stop call or an event', async () => {
    const w = world();
    const before = await started(w);
    await w.docker.remove(before.currentContainerId!);
    const calls = w.docker.calls.length;
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    // No engine was seen ending: the last exit code known stays.
    expect(result).toEqual(success({ ...stoppedFrom(before), lastExitCode: null }));
    expect(await w.records.get('g-1')).toEqual(result.record);
    expect(w.docker.calls.slice(calls)).toEqual(['inspectContainer', 'inspectContainer']);
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_started']);
  });

  it('never stops a foreign container that squats our name', async () => {
    const w = world();
    w.docker.addContainer({
      name: 'galaxy-game-g-1',
      image: 'x',
      labels: {},
      state: 'running',
      running: true,
      exitCode: null,
      oomKilled: false,
      startedAt: null,
      finishedAt: null,
    });
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(null, 'replay_no_op'));
    expect(w.docker.containers.size).toBe(1);
    expect(w.docker.calls).not.toContain('stop');
  });

  it('answers service_unavailable (retryable) when the daemon cannot be asked for the container', async () => {
    const w = world();
    await started(w);
    w.docker.daemonDown = true;
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('service_unavailable', 'find_container: connect ENOENT /var/run/docker.sock', true));
    expect(w.operations.entries.at(-1)).toMatchObject({
      opKind: 'stop',
      outcome: 'failure',
      errorCode: 'service_unavailable',
      errorMessage: result.errorMessage,
      containerId: '',
    });
    expect((await w.records.get('g-1'))?.status).toBe('running');
    expect(w.leases.held.size).toBe(0);
  });

  it('answers service_unavailable naming the container when Docker fails to stop it; the record still says running', async () => {
    const w = world();
    const before = await started(w);
    w.docker.failStop = new Error('cannot stop container: permission denied');
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('service_unavailable', 'stop_container: cannot stop container: permission denied', true));
    expect(w.operations.entries.at(-1)).toMatchObject({
      opKind: 'stop',
      outcome: 'failure',
      errorCode: 'service_unavailable',
      containerId: before.currentContainerId,
    });
    expect(w.docker.containers.get(before.currentContainerId!)?.info.running).toBe(true);
    expect(w.docker.calls).not.toContain('remove');
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_started']);
    expect(w.notifications.published).toEqual([]);
    expect(w.leases.held.size).toBe(0);
  });

  it('answers service_unavailable when the stopped container cannot be removed', async () => {
    const w = world();
    const before = await started(w);
    w.docker.failRemove = new Error('removal of container is already in progress');
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('service_unavailable', 'remove_container: removal of container is already in progress', true));
    expect(w.docker.containers.get(before.currentContainerId!)?.info.state).toBe('exited');
    expect(await w.records.get('g-1')).toEqual(before);
  });

  it('answers internal_error (retryable) when the record cannot be read', async () => {
    const w = world();
    await started(w);
    w.records.failGet = new Error('db down');
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(failure('internal_error', 'load_record: db down', true));
    expect(w.docker.calls.filter((c) => c === 'stop')).toEqual([]);
  });

  it('answers internal_error (retryable) when the record cannot be written, and a retry converges', async () => {
    const w = world();
    const before = await started(w);
    w.records.failUpsert = new Error('connection refused');
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('internal_error', 'upsert_record: upsert runtime record: connection refused', true));
    expect(w.operations.entries.at(-1)).toMatchObject({
      opKind: 'stop',
      outcome: 'failure',
      errorCode: 'internal_error',
      containerId: before.currentContainerId,
    });
    // The container is already gone; the record still names it, and no event claims the stop.
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_started']);
    expect(w.leases.held.size).toBe(0);

    w.records.failUpsert = null;
    const retry = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    // The retry saw no engine end: the exit code the first attempt saw went with the record it could not write.
    expect(retry).toEqual(success({ ...stoppedFrom(before), lastExitCode: null }));
    expect(await w.records.get('g-1')).toEqual(retry.record);
  });

  it('keeps its success when the health event cannot be published, and logs it', async () => {
    const w = world();
    const before = await started(w);
    w.healthEvents.fail = new Error('stream down');
    const result = await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(success(stoppedFrom(before)));
    expect(w.logger.lines.filter((l) => l.level === 'error').map((l) => [l.message, l.fields.err])).toEqual([['publish health event', 'stream down']]);
    expect(w.telemetry.healthEvents).toEqual(['container_started']);
  });

  it('refuses a bad game id and an unknown op source before the lease, auditing a stop', async () => {
    const w = world();
    expect(await stopRuntime(w.deps, { gameId: '../x', ...who })).toEqual(failure('start_config_invalid', /must match/, false));
    expect(await stopRuntime(w.deps, { gameId: 'g-1', opSource: 'cron' as never, sourceRef: 'op-1' })).toEqual(
      failure('start_config_invalid', 'op source "cron" is unsupported', false),
    );
    expect(audit(w)).toEqual([
      ['stop', 'failure', 'start_config_invalid'],
      ['stop', 'failure', 'start_config_invalid'],
    ]);
    expect(w.docker.calls).toEqual([]);
    expect(w.leases.releases).toEqual([]);
    expect(w.notifications.published).toEqual([]);
  });

  it('answers a retryable conflict while the lease is held, and service_unavailable when Redis fails', async () => {
    const w = world();
    const before = await started(w);
    await w.leases.tryAcquire('g-1', 'other', 60_000);
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(failure('conflict', LEASE_BUSY_MESSAGE, true, 'lease_busy'));
    expect(w.leases.held.get('g-1')?.token).toBe('other');
    w.leases.held.clear();
    w.leases.failAcquire = new Error('ECONNREFUSED 127.0.0.1:6379');
    expect(await stopRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(
      failure('service_unavailable', 'acquire game lease: ECONNREFUSED 127.0.0.1:6379', true),
    );
    expect(w.docker.containers.get(before.currentContainerId!)?.info.running).toBe(true);
    expect(audit(w).slice(1)).toEqual([
      ['stop', 'failure', 'conflict'],
      ['stop', 'failure', 'service_unavailable'],
    ]);
  });

  it('a step that throws ends in internal_error naming the step, and the lease is released', async () => {
    const w = world();
    await started(w);
    const result = await stopRuntime(
      w.deps,
      { gameId: 'g-1', ...who },
      {
        onStep: (name) => {
          if (name === 'upsert_record') throw new Error('boom');
        },
      },
    );
    expect(result).toEqual(failure('internal_error', 'upsert_record: boom', true));
    expect(w.leases.held.size).toBe(0);
  });
});

describe('restart', () => {
  it('recreates the container with the same image, hostname, endpoint and state directory, under one lease', async () => {
    const w = world();
    const before = await started(w);
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    const after = (await w.records.get('g-1'))!;
    expect(result).toEqual(success(after));
    // The exit code of the engine the restart stopped (SIGTERM, behind the init) stays as the last one seen.
    expect(after).toEqual({ ...before, currentContainerId: expect.any(String), startedAt: expect.any(Date), lastOpAt: expect.any(Date), lastExitCode: 143 });
    expect(after.currentContainerId).not.toBe(before.currentContainerId);
    expect(w.docker.containers.size).toBe(1);
    const [container] = await w.docker.listContainers({});
    expect(container).toMatchObject({ id: after.currentContainerId, name: 'galaxy-game-g-1', image: IMAGE, running: true });
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['start', 'success', ''],
      ['restart', 'success', ''],
    ]);
    expect(w.operations.entries.at(-1)).toMatchObject({
      opSource: 'admin_rest',
      sourceRef: 'op-1',
      imageRef: IMAGE,
      imageDigest: fakeDigest(IMAGE),
      containerId: after.currentContainerId,
    });
    expect(w.healthEvents.published.map((e) => [e.eventType, e.containerId, e.details.reason])).toEqual([
      ['container_started', before.currentContainerId, undefined],
      ['container_exited', before.currentContainerId, 'restart_requested'],
      ['container_started', after.currentContainerId, undefined],
    ]);
    // One lease for the stop and the start: the inner start takes none.
    expect(w.leases.releases).toEqual([
      { gameId: 'g-1', token: 'token-1' },
      { gameId: 'g-1', token: 'token-2' },
    ]);
  });

  it('on a cluster: records the node the new container was placed on', async () => {
    const w = world();
    w.docker.node = { id: 'n1', hostname: 'host-1' };
    await started(w);
    w.docker.node = { id: 'n2', hostname: 'host-2' };
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result.record).toMatchObject({ status: 'running', nodeId: 'n2', nodeHostname: 'host-2' });
    expect(await w.records.get('g-1')).toEqual(result.record);
  });

  it('starts a stopped game again on the image its record names', async () => {
    const w = world();
    await started(w);
    const stopped = (await stopRuntime(w.deps, { gameId: 'g-1', ...who })).record!;
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(
      success({
        ...stopped,
        status: 'running',
        currentContainerId: expect.any(String),
        startedAt: expect.any(Date),
        lastOpAt: expect.any(Date),
        stoppedAt: null,
        // The new container's limits, read back again.
        effectiveCpuQuota: 2,
        effectiveMemoryBytes: 1024 ** 3,
        effectivePidsLimit: 512,
      }),
    );
    expect(w.docker.containers.size).toBe(1);
    expect(audit(w).slice(2)).toEqual([
      ['start', 'success', ''],
      ['restart', 'success', ''],
    ]);
  });

  it('fails clearly when there is nothing to restart', async () => {
    const w = world();
    expect(await restartRuntime(w.deps, { gameId: 'g-9', ...who })).toEqual(failure('start_config_invalid', 'game "g-9" has no runtime to restart', false));
    expect(audit(w)).toEqual([['restart', 'failure', 'start_config_invalid']]);
    expect(w.leases.held.size).toBe(0);
  });

  it('passes the inner stop failure through: the old container keeps running and nothing is started', async () => {
    const w = world();
    const before = await started(w);
    w.docker.failStop = new Error('cannot stop container: permission denied');
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('service_unavailable', 'stop_container: cannot stop container: permission denied', true));
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['restart', 'failure', 'service_unavailable'],
    ]);
    expect(w.operations.entries.at(-1)).toMatchObject({ imageRef: IMAGE, containerId: before.currentContainerId });
    expect(w.docker.calls.filter((c) => c === 'run')).toHaveLength(1);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.leases.held.size).toBe(0);
  });

  it('passes an inner stop record-write failure through as retryable internal_error', async () => {
    const w = world();
    await started(w);
    w.records.failUpsert = new Error('connection refused');
    expect(await restartRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(
      failure('internal_error', 'upsert_record: upsert runtime record: connection refused', true),
    );
    expect(w.docker.calls.filter((c) => c === 'run')).toHaveLength(1);
    expect(audit(w).at(-1)).toEqual(['restart', 'failure', 'internal_error']);
  });

  it('under always, re-pulls the image before it stops the engine: a registry that refuses leaves the game running', async () => {
    const w = world();
    const before = await started(w);
    w.deps.settings.pullPolicy = 'always';
    w.deps.settings.pullFallbackToLocal = false;
    w.docker.unreachableRegistries.add('registry.galaxy.test');
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'image_pull_failed' });
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.docker.calls).not.toContain('stop');
    expect(audit(w).at(-1)).toEqual(['restart', 'failure', 'image_pull_failed']);
  });

  it('passes the inner start failure through, leaving the game stopped, with both audit rows and one notification', async () => {
    const w = world();
    await started(w);
    w.docker.failRun = new Error('no space left on device');
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('container_start_failed', 'no space left on device', false));
    expect((await w.records.get('g-1'))?.status).toBe('stopped');
    expect(w.docker.containers.size).toBe(0);
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['start', 'failure', 'container_start_failed'],
      ['restart', 'failure', 'container_start_failed'],
    ]);
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.container_start_failed']);
    expect(w.telemetry.startOutcomes.at(-1)).toEqual({ outcome: 'failure', errorCode: 'container_start_failed', opSource: 'admin_rest' });
    expect(w.leases.held.size).toBe(0);
  });

  it('passes a retryable inner start failure through as retryable, the new container rolled back', async () => {
    const w = world();
    await started(w);
    const result = await restartRuntime(
      w.deps,
      { gameId: 'g-1', ...who },
      {
        // The stop's record write succeeds; the inner start's fails.
        onStep: (name) => {
          if (name === 'run_container') w.records.failUpsert = new Error('connection refused');
        },
      },
    );
    expect(result).toEqual(failure('internal_error', 'upsert runtime record: connection refused', true));
    expect(w.docker.containers.size).toBe(0);
    expect((await w.records.get('g-1'))?.status).toBe('stopped');
    expect(audit(w).slice(1)).toEqual([
      ['start', 'failure', 'internal_error'],
      ['restart', 'failure', 'internal_error'],
    ]);
  });

  it('refuses a bad game id, and answers a retryable conflict while the lease is held, touching nothing', async () => {
    const w = world();
    expect(await restartRuntime(w.deps, { gameId: '../x', ...who })).toEqual(failure('start_config_invalid', /must match/, false));
    const before = await started(w);
    await w.leases.tryAcquire('g-1', 'other', 60_000);
    const calls = w.docker.calls.length;
    expect(await restartRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(failure('conflict', LEASE_BUSY_MESSAGE, true, 'lease_busy'));
    expect(w.docker.calls.length).toBe(calls);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.notifications.published).toEqual([]);
  });
});

describe('patch', () => {
  it('moves the game onto a new validated image, keeping its endpoint and state directory', async () => {
    const w = world();
    const before = await started(w);
    w.docker.images.set(OTHER_IMAGE, {});
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    const after = (await w.records.get('g-1'))!;
    expect(result).toEqual(success(after));
    // The new image's digest, and the limits of a label-less image: the defaults.
    expect(after).toEqual({
      ...before,
      currentImageRef: OTHER_IMAGE,
      currentContainerId: expect.any(String),
      startedAt: expect.any(Date),
      lastOpAt: expect.any(Date),
      currentImageDigest: fakeDigest(OTHER_IMAGE),
      effectiveCpuQuota: 1,
      effectiveMemoryBytes: 512 * 1024 ** 2,
      effectivePidsLimit: 256,
      lastExitCode: 143,
    });
    const [container] = await w.docker.listContainers({});
    expect(container?.labels['com.galaxy.engine_image_ref']).toBe(OTHER_IMAGE);
    expect(w.docker.containers.size).toBe(1);
    // The stop's row (inside the patch, not audited alone) names nothing new; the start and the patch name the new digest.
    expect(w.operations.entries.slice(1).map((e) => [e.opKind, e.outcome, e.imageRef, e.imageDigest])).toEqual([
      ['start', 'success', OTHER_IMAGE, fakeDigest(OTHER_IMAGE)],
      ['patch', 'success', OTHER_IMAGE, fakeDigest(OTHER_IMAGE)],
    ]);
    expect(w.healthEvents.published.at(1)).toMatchObject({ eventType: 'container_exited', details: { reason: 'patch_requested' } });
  });

  it('on an engine that replaces in place (a cluster): no stop, one replace of the running container, the record on the new one', async () => {
    const w = world();
    w.docker.canReplace();
    const before = await started(w);
    w.docker.images.set(OTHER_IMAGE, {});
    w.docker.calls.length = 0;
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    const after = (await w.records.get('g-1'))!;
    expect(result).toEqual(success(after));
    expect(after).toMatchObject({ status: 'running', currentImageRef: OTHER_IMAGE, currentImageDigest: fakeDigest(OTHER_IMAGE) });
    expect(after.currentContainerId).not.toBe(before.currentContainerId);
    expect(w.docker.calls).toContain('replace');
    expect(w.docker.calls).not.toContain('stop');
    expect(w.docker.calls).not.toContain('remove');
    expect(w.docker.calls.filter((c) => c === 'run')).toHaveLength(1);
    const [container] = await w.docker.listContainers({});
    expect(container).toMatchObject({ id: after.currentContainerId, running: true, labels: { 'com.galaxy.engine_image_ref': OTHER_IMAGE } });
    expect(w.docker.containers.size).toBe(1);
    expect(w.operations.entries.slice(1).map((e) => [e.opKind, e.outcome, e.imageRef])).toEqual([
      ['start', 'success', OTHER_IMAGE],
      ['patch', 'success', OTHER_IMAGE],
    ]);
    expect(w.healthEvents.published.at(-1)).toMatchObject({ eventType: 'container_started', containerId: after.currentContainerId });
  });

  it('on an engine that replaces in place: a new engine that cannot run leaves the previous one running and the record as it was', async () => {
    const w = world();
    w.docker.canReplace();
    const before = await started(w);
    w.docker.images.set(OTHER_IMAGE, {});
    w.docker.failRun = new Error('task: non-zero exit (1)');
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(failure('container_start_failed', /update failed, rolled back: task: non-zero exit \(1\)/, false));
    expect(await w.records.get('g-1')).toEqual(before);
    expect(await w.docker.inspectContainer(before.currentContainerId!)).toMatchObject({ running: true, labels: { 'com.galaxy.engine_image_ref': IMAGE } });
    expect(audit(w).slice(1)).toEqual([
      ['start', 'failure', 'container_start_failed'],
      ['patch', 'failure', 'container_start_failed'],
    ]);
  });

  it('on an engine that replaces in place: a stopped game is started, not replaced', async () => {
    const w = world();
    w.docker.canReplace();
    await started(w);
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    w.docker.images.set(OTHER_IMAGE, {});
    w.docker.calls.length = 0;
    expect(await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who })).toMatchObject({ outcome: 'success' });
    expect(w.docker.calls).not.toContain('replace');
    expect((await w.records.get('g-1'))?.currentImageRef).toBe(OTHER_IMAGE);
  });

  it('refuses a malformed image before the lease and Docker, with a notification', async () => {
    const w = world();
    const before = await started(w);
    const calls = w.docker.calls.length;
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: 'Bad Image', ...who });
    expect(result).toEqual(failure('start_config_invalid', /^invalid image_ref: /, false));
    expect(w.docker.calls.length).toBe(calls);
    expect(w.leases.releases).toHaveLength(1);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(audit(w).at(-1)).toEqual(['patch', 'failure', 'start_config_invalid']);
    expect(w.notifications.published).toEqual([
      expect.objectContaining({
        notificationType: 'runtime.start_config_invalid',
        payload: expect.objectContaining({ game_id: 'g-1', image_ref: 'Bad Image', error_code: 'start_config_invalid' }) as unknown,
      }),
    ]);
  });

  it('refuses an image from a registry that is not allowed before the lease: the game keeps running', async () => {
    const w = world();
    const before = await started(w);
    w.deps.settings.allowedRegistries = ['docker.io'];
    const calls = w.docker.calls.length;
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(
      failure('start_config_invalid', 'image registry "registry.galaxy.test" is not allowed (RTMANAGER_ALLOWED_REGISTRIES: docker.io)', false),
    );
    expect(w.docker.calls.length).toBe(calls);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.start_config_invalid']);
  });

  it('answers a retryable conflict while the lease is held: the game keeps running its image', async () => {
    const w = world();
    const before = await started(w);
    w.docker.images.set(OTHER_IMAGE, {});
    await w.leases.tryAcquire('g-1', 'other', 60_000);
    const calls = w.docker.calls.length;
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(failure('conflict', LEASE_BUSY_MESSAGE, true, 'lease_busy'));
    expect(w.docker.calls.length).toBe(calls);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.leases.held.get('g-1')?.token).toBe('other');
    expect(audit(w).at(-1)).toEqual(['patch', 'failure', 'conflict']);
    expect(w.notifications.published).toEqual([]);
  });

  it('makes the new image local before it stops anything: an image that cannot be had leaves the game running', async () => {
    const w = world();
    const before = await started(w);
    const containers = [...w.docker.containers.keys()];
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(failure('image_pull_failed', /was not found in registry /, false));
    expect(await w.records.get('g-1')).toEqual(before);
    expect([...w.docker.containers.keys()]).toEqual(containers);
    expect(w.docker.calls).not.toContain('stop');
    expect(w.operations.entries.slice(1).map((e) => [e.opKind, e.errorCode, e.imageRef])).toEqual([['patch', 'image_pull_failed', OTHER_IMAGE]]);
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.image_pull_failed']);
    expect(w.leases.held.size).toBe(0);
  });

  it('pulls once, before the stop: the start under the same lease does not ask the registry again', async () => {
    const w = world();
    await started(w);
    w.docker.registry.set(OTHER_IMAGE, {});
    w.deps.settings.pullPolicy = 'always';
    w.docker.calls.length = 0;
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result.outcome).toBe('success');
    expect(w.docker.downloads).toBe(1);
    expect(w.docker.calls.indexOf('pullImage')).toBeLessThan(w.docker.calls.indexOf('stop'));
    expect(w.docker.calls.filter((c) => c === 'pullImage')).toHaveLength(1);
    expect((await w.records.get('g-1'))?.currentImageRef).toBe(OTHER_IMAGE);
  });

  it('answers a daemon that does not answer its pull with a retryable service_unavailable: the old image keeps running', async () => {
    const w = world();
    const before = await started(w);
    w.docker.images.set(OTHER_IMAGE, {});
    w.docker.failPull = new Error('connect ENOENT /var/run/docker.sock');
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(failure('service_unavailable', 'pull_image: connect ENOENT /var/run/docker.sock', true));
    expect(w.notifications.published).toEqual([]);
    expect(await w.records.get('g-1')).toEqual(before);
    expect(w.operations.entries.at(-1)).toMatchObject({ opKind: 'patch', imageRef: OTHER_IMAGE, errorCode: 'service_unavailable' });
  });
});

/** A game running IMAGE, and the Docker calls from here on. */
async function runningGame(w: World) {
  const before = await started(w);
  w.docker.calls.length = 0;
  return before;
}

/** The game as it was: the record untouched, its container still running, nothing stopped, removed or run. */
async function expectStillRunning(w: World, before: RuntimeRecord) {
  expect(await w.records.get('g-1')).toEqual(before);
  expect(w.docker.containers.get(before.currentContainerId!)?.info.running).toBe(true);
  expect(w.docker.calls.filter((c) => c === 'stop' || c === 'remove' || c === 'run' || c === 'replace')).toEqual([]);
  expect(w.leases.held.size).toBe(0);
}

describe('restart and patch: every check of the image before anything is stopped (contract §14)', () => {
  it('a restart whose image the allowed registries no longer admit: refused as the start would, the game still running as recorded', async () => {
    const w = world();
    const before = await runningGame(w);
    w.deps.settings.allowedRegistries = ['docker.io'];
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(
      failure('start_config_invalid', 'image registry "registry.galaxy.test" is not allowed (RTMANAGER_ALLOWED_REGISTRIES: docker.io)', false),
    );
    await expectStillRunning(w, before);
    // Not even a pull: the allowlist is asked first.
    expect(w.docker.calls).toEqual([]);
    expect(audit(w)).toEqual([
      ['start', 'success', ''],
      ['restart', 'failure', 'start_config_invalid'],
    ]);
    expect(w.operations.entries.at(-1)).toMatchObject({ imageRef: IMAGE, containerId: '' });
    expect(w.notifications.published).toEqual([
      expect.objectContaining({
        notificationType: 'runtime.start_config_invalid',
        payload: expect.objectContaining({ game_id: 'g-1', image_ref: IMAGE, error_code: 'start_config_invalid' }) as unknown,
      }),
    ]);
    // The steps it went through, by name, under the restart's own kind.
    const steps = w.logger.lines.filter((l) => l.message === 'restart step').map((l) => l.fields.step);
    expect(steps).toEqual(['acquire_lease', 'load_record', 'validate_image_ref']);
  });

  it('a restart of a stopped game whose registry is no longer allowed: refused, the record still stopped', async () => {
    const w = world();
    await started(w);
    const stopped = (await stopRuntime(w.deps, { gameId: 'g-1', ...who })).record!;
    w.deps.settings.allowedRegistries = ['docker.io'];
    expect(await restartRuntime(w.deps, { gameId: 'g-1', ...who })).toMatchObject({ outcome: 'failure', errorCode: 'start_config_invalid' });
    expect(await w.records.get('g-1')).toEqual(stopped);
    expect(w.docker.containers.size).toBe(0);
  });

  it.each([
    ['above its ceiling', { 'com.galaxy.memory': '1p' }, 'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY)'],
    ['below its minimum', { 'com.galaxy.cpu_quota': '0.0000000001' }, 'image label com.galaxy.cpu_quota=0.0000000001 is below the minimum 0.01'],
    ['pids below its minimum', { 'com.galaxy.pids_limit': '0' }, 'image label com.galaxy.pids_limit=0 is below the minimum 1'],
    ["memory below Docker's minimum", { 'com.galaxy.memory': '6291455' }, 'image label com.galaxy.memory=6291455 is below the minimum 6m'],
  ])('a patch onto an image whose limit label is %s: refused before the stop', async (_name, labels, message) => {
    const w = world();
    const before = await runningGame(w);
    w.docker.images.set(OTHER_IMAGE, labels);
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(failure('start_config_invalid', message, false));
    await expectStillRunning(w, before);
    expect(w.docker.calls).toEqual(['networkExists', 'pullImage', 'inspectImage']);
    // One row, the patch's, naming the image it refused by its digest.
    expect(w.operations.entries.slice(1).map((e) => [e.opKind, e.errorCode, e.imageRef, e.imageDigest])).toEqual([
      ['patch', 'start_config_invalid', OTHER_IMAGE, fakeDigest(OTHER_IMAGE)],
    ]);
    expect(w.notifications.published.map((n) => [n.notificationType, n.payload.image_ref])).toEqual([['runtime.start_config_invalid', OTHER_IMAGE]]);
  });

  it('a restart whose image now asks for limits out of bounds (a lowered ceiling): refused before the stop', async () => {
    const w = world();
    const before = await runningGame(w);
    w.deps.settings.maxMemory = '512m';
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(
      failure('start_config_invalid', 'image label com.galaxy.memory=1g is above the maximum 512m (RTMANAGER_CONTAINER_MAX_MEMORY)', false),
    );
    await expectStillRunning(w, before);
    expect(audit(w).at(-1)).toEqual(['restart', 'failure', 'start_config_invalid']);
  });

  it('a patch under the pull policy never, onto an image that is not local: image_pull_failed naming the policy, before the stop', async () => {
    const w = world();
    const before = await runningGame(w);
    w.deps.settings.pullPolicy = 'never';
    w.docker.registry.set(OTHER_IMAGE, {});
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result).toEqual(failure('image_pull_failed', /the pull policy "never" \(RTMANAGER_DOCKER_PULL_POLICY\) forbids pulling it/, false));
    await expectStillRunning(w, before);
    expect(w.docker.downloads).toBe(0);
    expect(audit(w).at(-1)).toEqual(['patch', 'failure', 'image_pull_failed']);
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.image_pull_failed']);
  });

  it("a restart once the engines' network is gone: start_config_invalid before the stop", async () => {
    const w = world();
    const before = await runningGame(w);
    w.docker.networks.clear();
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('start_config_invalid', 'docker network "galaxy-engines" is missing', false));
    await expectStillRunning(w, before);
    expect(w.docker.calls).toEqual(['networkExists']);
  });

  it('a daemon that does not answer the network check: retryable service_unavailable, nothing stopped', async () => {
    const w = world();
    const before = await runningGame(w);
    w.docker.daemonDown = true;
    expect(await restartRuntime(w.deps, { gameId: 'g-1', ...who })).toEqual(
      failure('service_unavailable', 'ensure docker network: connect ENOENT /var/run/docker.sock', true),
    );
    w.docker.daemonDown = false;
    await expectStillRunning(w, before);
    expect(w.notifications.published).toEqual([]);
  });

  it('an image that cannot be inspected after its pull: image_pull_failed before the stop', async () => {
    const w = world();
    const before = await runningGame(w);
    w.docker.failInspectImage = new Error('No such image: registry.galaxy.test/engines/galaxy:1.4.2');
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toEqual(failure('image_pull_failed', 'inspect image: No such image: registry.galaxy.test/engines/galaxy:1.4.2', false));
    await expectStillRunning(w, before);
  });

  it('the start under the same lease runs what was checked: one pull, one inspect, the limits and digest found before the stop', async () => {
    const w = world();
    await runningGame(w);
    w.docker.images.set(OTHER_IMAGE, { 'com.galaxy.cpu_quota': '0.01', 'com.galaxy.memory': '6m', 'com.galaxy.pids_limit': '1' });
    const result = await patchRuntime(w.deps, { gameId: 'g-1', imageRef: OTHER_IMAGE, ...who });
    expect(result.record).toMatchObject({
      currentImageDigest: fakeDigest(OTHER_IMAGE),
      effectiveCpuQuota: 0.01,
      effectiveMemoryBytes: 6 * 1024 ** 2,
      effectivePidsLimit: 1,
    });
    expect(w.docker.calls.filter((c) => c === 'pullImage' || c === 'inspectImage')).toEqual(['pullImage', 'inspectImage']);
    expect(w.docker.calls.indexOf('inspectImage')).toBeLessThan(w.docker.calls.indexOf('stop'));
    expect(w.docker.specOf(result.record!.currentContainerId!)).toMatchObject({ nanoCpus: 10_000_000, memoryBytes: 6 * 1024 ** 2, pidsLimit: 1 });
    // The inner start names its steps without a second pull or inspect.
    const startSteps = w.logger.lines.filter((l) => l.message === 'start step' && l.fields.op_kind === 'start').map((l) => l.fields.step);
    expect(startSteps.slice(-10)).toEqual([
      'load_record',
      'lobby_diagnostic',
      'validate_image_ref',
      'check_network',
      'prepare_state_dir',
      'converge_container',
      'run_container',
      'await_healthy',
      'upsert_record',
      'publish_success',
    ]);
  });
});
