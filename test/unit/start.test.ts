import { describe, expect, it } from 'vitest';
import { DockerDeadlineExceeded, ERROR_MESSAGE_MAX_BYTES, LEASE_BUSY_MESSAGE, LEASE_LOST_MESSAGE } from '../../src/domain/errors.js';
import type { RuntimeRecord } from '../../src/domain/model.js';
import type { PullProgress } from '../../src/domain/engine-port.js';
import type { StartInput, StartResult } from '../../src/domain/start.js';
import { beginOperation } from '../../src/domain/operation.js';
import { LEASE_PATIENCE_MS } from '../../src/domain/operation-lease.js';
import { runStartUnderHeldLease, START_STEPS, startRuntime } from '../../src/domain/start.js';
import { fakeDigest } from '../fakes/fake-docker-engine.js';
import { failure } from '../fakes/results.js';
import type { World } from '../fakes/world.js';
import { IMAGE, NETWORK, OTHER_IMAGE, world } from '../fakes/world.js';

const input = (over: Partial<StartInput> = {}): StartInput => ({
  gameId: 'g-100',
  imageRef: IMAGE,
  opSource: 'gm_rest',
  sourceRef: 'req-1',
  ...over,
});

function runningRecord(over: Partial<RuntimeRecord> = {}): RuntimeRecord {
  return {
    gameId: 'g-100',
    status: 'running',
    currentContainerId: 'c-old',
    currentImageRef: IMAGE,
    engineEndpoint: 'http://galaxy-game-g-100:8080',
    statePath: '/srv/game-state/g-100',
    dockerNetwork: NETWORK,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    stoppedAt: null,
    lastOpAt: new Date('2026-01-01T00:00:00Z'),
    createdAt: new Date('2025-12-31T00:00:00Z'),
    currentImageDigest: fakeDigest(IMAGE),
    effectiveCpuQuota: 2,
    effectiveMemoryBytes: 1024 ** 3,
    effectivePidsLimit: 512,
    nodeId: null,
    nodeHostname: null,
    health: 'none',
    restartCount: 0,
    lastExitCode: null,
    ...over,
  };
}

/** Every failure: one audit row with the code, a warn log, the outcome counted, the lease free. */
function expectFailureSideEffects(w: World, result: StartResult, notificationType: string | null): void {
  expect(w.operations.entries).toHaveLength(1);
  expect(w.operations.entries[0]).toMatchObject({
    gameId: 'g-100',
    opKind: 'start',
    opSource: 'gm_rest',
    sourceRef: 'req-1',
    imageRef: IMAGE,
    outcome: 'failure',
    errorCode: result.errorCode,
    errorMessage: result.errorMessage,
  });
  expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'failure', errorCode: result.errorCode, opSource: 'gm_rest' }]);
  expect(w.logger.lines.filter((l) => l.level === 'warn' && l.message === 'runtime start failed')).toHaveLength(1);
  expect(w.healthEvents.published).toEqual([]);
  expect(w.leases.held.size).toBe(0);
  if (notificationType) {
    expect(w.notifications.published).toHaveLength(1);
    const intent = w.notifications.published[0]!;
    expect(intent).toMatchObject({
      notificationType,
      audience: 'admin',
      payload: { game_id: 'g-100', image_ref: IMAGE, error_code: result.errorCode, error_message: result.errorMessage },
    });
    expect(intent.idempotencyKey).toBe(`${notificationType}.g-100.${intent.payload.attempted_at_ms}`);
    expect(w.telemetry.notificationIntents).toEqual([notificationType]);
  } else {
    expect(w.notifications.published).toEqual([]);
  }
}

describe('start: fresh success', () => {
  it('runs the container by contract §8 and records, audits and announces it', async () => {
    const w = world();
    const result = await startRuntime(w.deps, input());

    const [container] = await w.docker.listContainers({ 'com.galaxy.game_id': 'g-100' });
    expect(container).toBeDefined();
    const startedAt = container!.startedAt!;
    const expectedRecord: RuntimeRecord = {
      gameId: 'g-100',
      status: 'running',
      currentContainerId: container!.id,
      currentImageRef: IMAGE,
      engineEndpoint: 'http://galaxy-game-g-100:8080',
      statePath: '/srv/game-state/g-100',
      dockerNetwork: NETWORK,
      startedAt,
      stoppedAt: null,
      lastOpAt: startedAt,
      createdAt: expect.any(Date) as Date,
      // A local image with no repo digest: its id. The limits as the container got them.
      currentImageDigest: fakeDigest(IMAGE),
      effectiveCpuQuota: 2,
      effectiveMemoryBytes: 1024 ** 3,
      effectivePidsLimit: 512,
      // One engine: no node to name.
      nodeId: null,
      nodeHostname: null,
      health: 'none',
      restartCount: 0,
      lastExitCode: null,
    };
    expect(result).toEqual({ outcome: 'success', errorCode: null, errorMessage: '', record: expectedRecord, retryable: false });
    expect(await w.records.get('g-100')).toEqual(result.record);

    const spec = w.docker.specOf(container!.id)!;
    expect(spec).toEqual({
      name: 'galaxy-game-g-100',
      hostname: 'galaxy-game-g-100',
      image: IMAGE,
      network: NETWORK,
      env: { GALAXY_ENGINE_STATE_DIR: '/var/lib/galaxy/engine', STORAGE_PATH: '/var/lib/galaxy/engine' },
      labels: {
        'com.galaxy.owner': 'rtmanager',
        'com.galaxy.kind': 'game-engine',
        'com.galaxy.game_id': 'g-100',
        'com.galaxy.engine_image_ref': IMAGE,
        'com.galaxy.started_at_ms': expect.stringMatching(/^\d+$/) as string,
      },
      bindMounts: [{ hostPath: '/srv/game-state/g-100', mountPath: '/var/lib/galaxy/engine', readOnly: false }],
      logDriver: 'json-file',
      logOpts: { 'max-size': '10m', 'max-file': '3' },
      nanoCpus: 2_000_000_000,
      memoryBytes: 1024 ** 3,
      pidsLimit: 512,
      capDrop: ['ALL'],
      capAdd: [],
      readOnlyRootfs: true,
      scratchMounts: [{ mountPath: '/tmp', sizeBytes: 64 * 1024 ** 2 }],
      user: null,
      // No stop labels and no STOPSIGNAL: SIGTERM, and RTMANAGER_STOP_TIMEOUT_SECONDS.
      stopSignal: 'SIGTERM',
      stopTimeoutSeconds: 10,
    });

    expect(w.operations.entries).toEqual([
      expect.objectContaining({
        gameId: 'g-100',
        opKind: 'start',
        opSource: 'gm_rest',
        sourceRef: 'req-1',
        imageRef: IMAGE,
        imageDigest: fakeDigest(IMAGE),
        containerId: container!.id,
        outcome: 'success',
        errorCode: '',
        errorMessage: '',
      }),
    ]);
    expect(w.healthEvents.published).toEqual([
      { gameId: 'g-100', containerId: container!.id, eventType: 'container_started', occurredAt: startedAt, details: { image_ref: IMAGE } },
    ]);
    expect(w.notifications.published).toEqual([]);
    expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'success', errorCode: '', opSource: 'gm_rest' }]);
    expect(w.telemetry.healthEvents).toEqual(['container_started']);
    expect(w.telemetry.leaseLatencies).toHaveLength(1);
    expect(w.leases.held.size).toBe(0);
    expect(w.leases.releases).toEqual([{ gameId: 'g-100', token: 'token-1' }]);
  });

  it('records the node a cluster placed the engine on', async () => {
    const w = world();
    w.docker.node = { id: 'n1', hostname: 'host-1' };
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(result.record).toMatchObject({ status: 'running', nodeId: 'n1', nodeHostname: 'host-1' });
    expect(await w.records.get('g-100')).toEqual(result.record);
  });

  it('keeps created_at of an existing, no longer running record', async () => {
    const w = world();
    const created = new Date('2025-06-01T00:00:00Z');
    await w.records.upsert(runningRecord({ status: 'stopped', createdAt: created, currentContainerId: null }), 0);
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(result.record?.createdAt).toEqual(created);
    expect(result.record?.status).toBe('running');
  });

  it('logs every step with game id, op source and step name', async () => {
    const w = world();
    await startRuntime(w.deps, input());
    const steps = w.logger.lines.filter((l) => l.message === 'start step').map((l) => l.fields.step);
    expect(steps).toEqual(START_STEPS.filter((s) => s !== 'validate_input'));
    for (const line of w.logger.lines) {
      expect(line.fields).toMatchObject({ game_id: 'g-100', op_source: 'gm_rest', op_kind: 'start' });
    }
    expect(w.logger.lines.find((l) => l.message === 'runtime started')).toMatchObject({ level: 'info', fields: { step: 'publish_success' } });
  });
});

describe('start: validate input', () => {
  it.each([
    ['', 'game id must not be empty'],
    ['   ', 'game id must not be empty'],
    ['../etc', /must match/],
    ['a/b', /must match/],
    ['a.b', /must match/],
    ['a:b', /must match/],
    ['-lead', /must match/],
    ['x'.repeat(53), /must match/],
    ['12345', /must not be all digits/],
  ])('refuses game id %j without touching lease or Docker', async (gameId, message) => {
    const w = world();
    const result = await startRuntime(w.deps, input({ gameId }));
    expect(result).toEqual(failure('start_config_invalid', message, false));
    expect(w.docker.calls).toEqual([]);
    expect(w.leases.releases).toEqual([]);
    expect(w.notifications.published[0]).toMatchObject({ notificationType: 'runtime.start_config_invalid', payload: { game_id: gameId } });
    expect(w.operations.entries[0]).toMatchObject({ gameId, errorCode: 'start_config_invalid' });
  });

  it('accepts the longest game id whose hostname fits 64 characters', async () => {
    const w = world();
    const gameId = `a${'b'.repeat(51)}`;
    const result = await startRuntime(w.deps, input({ gameId }));
    expect(result.outcome).toBe('success');
    expect(`galaxy-game-${gameId}`.length).toBe(64);
  });

  it('refuses an empty image ref', async () => {
    const w = world();
    const result = await startRuntime(w.deps, input({ imageRef: '  ' }));
    expect(result).toEqual(failure('start_config_invalid', 'image ref must not be empty', false));
    expect(w.docker.calls).toEqual([]);
    expect(w.notifications.published).toHaveLength(1);
  });

  it('refuses an unknown op source', async () => {
    const w = world();
    const result = await startRuntime(w.deps, input({ opSource: 'cron' as never }));
    expect(result).toEqual(failure('start_config_invalid', 'op source "cron" is unsupported', false));
    expect(w.docker.calls).toEqual([]);
  });
});

describe('start: lease', () => {
  it('answers service_unavailable when Redis fails, retryable, no notification', async () => {
    const w = world();
    w.leases.failAcquire = new Error('ECONNREFUSED 127.0.0.1:6379');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('service_unavailable', 'acquire game lease: ECONNREFUSED 127.0.0.1:6379', true));
    expectFailureSideEffects(w, result, null);
    expect(w.docker.calls).toEqual([]);
    expect(w.telemetry.leaseLatencies).toHaveLength(1);
  });

  it('answers a retryable conflict while another operation holds the lease', async () => {
    const w = world();
    await w.leases.tryAcquire('g-100', 'someone-else', 60_000);
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('conflict', LEASE_BUSY_MESSAGE, true, 'lease_busy'));
    expect(w.docker.calls).toEqual([]);
    expect(w.leases.held.get('g-100')?.token).toBe('someone-else');
    expect(w.notifications.published).toEqual([]);
    expect(w.operations.entries[0]).toMatchObject({ outcome: 'failure', errorCode: 'conflict' });
  });

  it('a caller that waits when busy gets a lease released a moment later, without waiting outside', async () => {
    const w = world();
    await w.leases.tryAcquire('g-100', 'reconciler', 60_000);
    // The holder lets go while the start is in its patience (LEASE_PATIENCE_MS).
    setTimeout(() => void w.leases.release('g-100', 'reconciler'), 20);
    const result = await startRuntime(w.deps, input(), { waitsWhenBusy: true });
    expect(result.outcome).toBe('success');
    expect(w.telemetry.leaseLatencies.length).toBeGreaterThan(1);
  });

  it('a caller that waits when busy tries the lease again for at most the patience, then answers lease_busy without an audit row', async () => {
    const w = world();
    await w.leases.tryAcquire('g-100', 'someone-else', 60_000);
    const t = performance.now();
    const result = await startRuntime(w.deps, input(), { waitsWhenBusy: true });
    const waited = performance.now() - t;
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'conflict', record: null, retryable: true, lease: 'lease_busy' });
    expect(w.telemetry.leaseLatencies).toHaveLength(1 + LEASE_PATIENCE_MS.length);
    expect(waited).toBeGreaterThanOrEqual(LEASE_PATIENCE_MS.reduce((a, b) => a + b, 0) - 5);
    expect(w.operations.entries).toEqual([]);
    expect(w.docker.calls).toEqual([]);
  });

  it('a caller whose job lost its lock stops trying a busy lease', async () => {
    const w = world();
    await w.leases.tryAcquire('g-100', 'someone-else', 60_000);
    const lost = new AbortController();
    setTimeout(() => lost.abort('job lock lost'), 1);
    const result = await startRuntime(w.deps, input(), { waitsWhenBusy: true, signal: lost.signal });
    expect(result).toMatchObject({ outcome: 'failure', lease: 'lease_busy' });
    expect(w.telemetry.leaseLatencies).toHaveLength(1);
  });

  it('releases the lease after a step throws, with an internal_error naming the step', async () => {
    const w = world();
    const result = await startRuntime(w.deps, input(), {
      onStep: (name) => {
        if (name === 'pull_image') throw new Error('boom');
      },
    });
    expect(result).toEqual(failure('internal_error', 'pull_image: boom', true));
    expectFailureSideEffects(w, result, null);
    expect(w.leases.releases).toEqual([{ gameId: 'g-100', token: 'token-1' }]);
  });

  it('keeps the Result when the lease release fails', async () => {
    const w = world();
    w.leases.failRelease = new Error('redis gone');
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.logger.lines.some((l) => l.message === 'release game lease' && l.fields.err === 'redis gone')).toBe(true);
  });

  it('is refused while a dead attempt still holds the lease, and free once its TTL has passed', async () => {
    const w = world();
    // A first attempt died after taking the lease: nobody renews it, so it lasts one TTL.
    await w.leases.tryAcquire('g-100', 'dead-attempt', 60_000);
    const rerun = await startRuntime(w.deps, input());
    expect(rerun).toEqual(failure('conflict', LEASE_BUSY_MESSAGE, true, 'lease_busy'));
    expect(w.docker.calls).toEqual([]);
    expect(w.leases.held.get('g-100')?.token).toBe('dead-attempt');
    w.clock.advance(60_000);
    expect((await startRuntime(w.deps, input())).outcome).toBe('success');
  });

  it('runStartUnderHeldLease takes no lease of its own, and writes with the fence of the one held', async () => {
    const w = world();
    const fence = (await w.leases.tryAcquire('g-100', 'orchestrator', 60_000))!;
    const result = await runStartUnderHeldLease(orchestrator(w, 'g-100', fence), IMAGE);
    expect(result.outcome).toBe('success');
    expect(w.leases.held.get('g-100')?.token).toBe('orchestrator');
    expect(w.leases.releases).toEqual([]);
    expect(w.leases.fences.get('g-100')).toBe(fence);
    expect(w.records.fences.get('g-100')).toBe(fence);
  });

  it('runStartUnderHeldLease still validates input', async () => {
    const w = world();
    const result = await runStartUnderHeldLease(orchestrator(w, '../x', 1), IMAGE);
    expect(result).toEqual(failure('start_config_invalid', /must match/, false));
  });
});

/** An operation holding the game's lease, as restart and patch are when they run a start. */
function orchestrator(w: World, gameId: string, fence: number) {
  const held = { token: 'orchestrator', fence, validUntil: Number.POSITIVE_INFINITY, lost: null, undo: new Map() };
  return beginOperation(w.deps, 'restart', { gameId, imageRef: '', opSource: 'gm_rest', sourceRef: 'req-1' }, {}, { held });
}

describe('start: load record', () => {
  it('answers internal_error (retryable) when the record store fails', async () => {
    const w = world();
    w.records.failGet = new Error('connection terminated');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('internal_error', 'load runtime record: connection terminated', true));
    expectFailureSideEffects(w, result, null);
    expect(w.docker.calls).toEqual([]);
  });

  it('replays a running game with the same image: success, replay_no_op, no Docker call', async () => {
    const w = world();
    const existing = runningRecord();
    await w.records.upsert(existing, 0);
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual({ outcome: 'success', errorCode: 'replay_no_op', errorMessage: '', record: existing, retryable: false });
    expect(w.docker.calls).toEqual([]);
    expect(w.operations.entries).toEqual([expect.objectContaining({ outcome: 'success', errorCode: 'replay_no_op', containerId: 'c-old', errorMessage: '' })]);
    expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'success', errorCode: 'replay_no_op', opSource: 'gm_rest' }]);
    expect(w.healthEvents.published).toEqual([]);
    expect(w.notifications.published).toEqual([]);
    expect(w.leases.held.size).toBe(0);
  });

  it('refuses, not retryable, a running game with another image', async () => {
    const w = world();
    await w.records.upsert(runningRecord({ currentImageRef: OTHER_IMAGE }), 0);
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('conflict', `runtime already running with image_ref "${OTHER_IMAGE}"`, false));
    expectFailureSideEffects(w, result, null);
    expect(w.docker.calls).toEqual([]);
  });
});

describe('start: a verdict under a lease that may have expired', () => {
  it('is not written: a worker that woke past the lease TTL inside load_record ends lease-lost, retryable, with no conflict row', async () => {
    const w = world();
    await w.records.upsert(runningRecord({ currentImageRef: OTHER_IMAGE }), 0);
    const get = w.records.get.bind(w.records);
    // The process froze while the record was read: no renewal was confirmed for longer than the TTL.
    w.deps.records.get = async (gameId) => {
      const record = await get(gameId);
      w.clock.advance(w.deps.settings.leaseTtlMs + 1);
      return record;
    };
    const result = await startRuntime(w.deps, input());
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'conflict', retryable: true, lease: 'lease_lost' });
    expect(w.operations.entries).toHaveLength(1);
    expect(w.operations.entries[0]!.errorMessage).toContain(LEASE_LOST_MESSAGE);
    expect(w.operations.entries[0]!.errorMessage).not.toContain('already running');
  });

  it('a success reached after the lease may have expired is not written as one either', async () => {
    const w = world();
    const upsert = w.records.upsert.bind(w.records);
    w.deps.records.upsert = async (record, fence) => {
      const written = await upsert(record, fence);
      w.clock.advance(w.deps.settings.leaseTtlMs + 1);
      return written;
    };
    const result = await startRuntime(w.deps, input());
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'conflict', retryable: true, lease: 'lease_lost' });
    expect(w.operations.entries.map((e) => e.outcome)).toEqual(['failure']);
  });
});

describe('start: lobby diagnostic', () => {
  it('logs the lobby game at debug and changes nothing', async () => {
    const w = world();
    w.deps.lobby = { getGame: () => Promise.resolve({ status: 'starting', targetEngineVersion: '1.4.2' }) };
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.logger.lines.find((l) => l.message === 'lobby diagnostic fetched')).toMatchObject({
      level: 'debug',
      fields: { lobby_status: 'starting', lobby_target_engine_version: '1.4.2' },
    });
  });

  it('a failing lobby never changes the outcome', async () => {
    const w = world();
    w.deps.lobby = { getGame: () => Promise.reject(new Error('lobby 503')) };
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.logger.lines.find((l) => l.message === 'lobby diagnostic fetch failed')).toMatchObject({ level: 'debug', fields: { err: 'lobby 503' } });
  });

  it('a lobby that never answers is abandoned after its timeout', async () => {
    const w = world();
    w.deps.lobby = { getGame: () => new Promise(() => undefined) };
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.logger.lines.find((l) => l.message === 'lobby diagnostic fetch failed')?.fields.err).toMatch(/timed out/);
  });
});

describe('start: image, network, pull, inspect', () => {
  it('refuses a malformed image ref with start_config_invalid and a notification', async () => {
    const w = world();
    const result = await startRuntime(w.deps, input({ imageRef: 'Registry/UPPER:tag' }));
    expect(result).toEqual(failure('start_config_invalid', /^invalid image_ref: /, false));
    expect(w.docker.calls).toEqual([]);
    expect(w.notifications.published[0]?.notificationType).toBe('runtime.start_config_invalid');
  });

  it('refuses a missing network with start_config_invalid and a notification', async () => {
    const w = world();
    w.docker.networks.clear();
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('start_config_invalid', 'docker network "galaxy-engines" is missing', false));
    expectFailureSideEffects(w, result, 'runtime.start_config_invalid');
    // Only reads: the network check, and the read-ahead of a container left under our name.
    expect([...w.docker.calls].sort()).toEqual(['inspectContainer', 'networkExists']);
  });

  it('answers service_unavailable (retryable) when the daemon does not answer', async () => {
    const w = world();
    w.docker.daemonDown = true;
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('service_unavailable', /^ensure docker network: connect ENOENT/, true));
    expectFailureSideEffects(w, result, null);
  });

  it('reports image_pull_failed saying why, then the daemon message, and a notification', async () => {
    const w = world();
    w.deps.settings.pullPolicy = 'always';
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(
      failure(
        'image_pull_failed',
        `image ${IMAGE} was not found in registry registry.galaxy.test (no such repository, tag or digest): manifest for ${IMAGE} not found: manifest unknown`,
        false,
      ),
    );
    expectFailureSideEffects(w, result, 'runtime.image_pull_failed');
  });

  it('pulls a missing image with if_not_present and reports progress over its layers', async () => {
    const w = world();
    w.docker.images.clear();
    w.docker.registry.set(IMAGE, {});
    const progress: PullProgress[] = [];
    const result = await startRuntime(w.deps, input(), { onPullProgress: (p) => progress.push(p) });
    expect(result.outcome).toBe('success');
    expect(progress.at(-1)).toEqual({ layersDone: 1, layersTotal: 1, bytesDone: 1, bytesTotal: 1 });
    expect(w.docker.downloads).toBe(1);
    // Pulled: the repo digest it was pulled by, not the local id; no labels, so the default limits.
    expect(result.record).toMatchObject({
      currentImageDigest: fakeDigest(`registry:${IMAGE}`),
      effectiveCpuQuota: 1,
      effectiveMemoryBytes: 512 * 1024 ** 2,
      effectivePidsLimit: 256,
    });
    expect(w.operations.entries[0]?.imageDigest).toBe(fakeDigest(`registry:${IMAGE}`));
  });

  it('refuses an image from a registry that is not allowed, before any pull', async () => {
    const w = world();
    w.deps.settings.allowedRegistries = ['docker.io', 'registry.galaxy.example'];
    w.deps.settings.pullPolicy = 'always';
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(
      failure(
        'start_config_invalid',
        'image registry "registry.galaxy.test" is not allowed (RTMANAGER_ALLOWED_REGISTRIES: docker.io, registry.galaxy.example)',
        false,
      ),
    );
    expectFailureSideEffects(w, result, 'runtime.start_config_invalid');
    expect(w.docker.calls).toEqual([]);
    expect(w.operations.entries[0]?.imageDigest).toBeNull();
  });

  it('starts an image from an allowed registry', async () => {
    const w = world();
    w.deps.settings.allowedRegistries = ['docker.io', 'Registry.Galaxy.Test'];
    expect((await startRuntime(w.deps, input())).outcome).toBe('success');
  });

  it.each([
    [{ 'com.galaxy.memory': '1p' }, 'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY)'],
    [{ 'com.galaxy.pids_limit': '100000' }, 'image label com.galaxy.pids_limit=100000 is above the maximum 4096 (RTMANAGER_CONTAINER_MAX_PIDS_LIMIT)'],
    [{ 'com.galaxy.cpu_quota': '4.5' }, 'image label com.galaxy.cpu_quota=4.5 is above the maximum 4 (RTMANAGER_CONTAINER_MAX_CPU_QUOTA)'],
    // Contract §14: below the minimum, Docker would set no limit (NanoCpus 0, Memory 0, PidsLimit 0).
    [{ 'com.galaxy.cpu_quota': '0.0000000001' }, 'image label com.galaxy.cpu_quota=0.0000000001 is below the minimum 0.01'],
    [{ 'com.galaxy.memory': '0' }, 'image label com.galaxy.memory=0 is below the minimum 6m'],
    [{ 'com.galaxy.pids_limit': '0' }, 'image label com.galaxy.pids_limit=0 is below the minimum 1'],
  ])('refuses an image whose label %j is out of its bounds: nothing is run', async (labels, message) => {
    const w = world();
    w.docker.images.set(IMAGE, labels);
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('start_config_invalid', message, false));
    expectFailureSideEffects(w, result, 'runtime.start_config_invalid');
    expect(w.docker.calls).not.toContain('run');
    expect(w.stateDirs.prepared).toEqual([]);
    // The image was inspected: its row says which one was refused.
    expect(w.operations.entries[0]?.imageDigest).toBe(fakeDigest(IMAGE));
  });

  it('never: an image that is not local is image_pull_failed naming the policy, before any container work', async () => {
    const w = world();
    w.deps.settings.pullPolicy = 'never';
    w.docker.images.clear();
    w.docker.registry.set(IMAGE, {});
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(
      failure(
        'image_pull_failed',
        `image ${IMAGE} is not present locally and the pull policy "never" (RTMANAGER_DOCKER_PULL_POLICY) forbids pulling it`,
        false,
      ),
    );
    expectFailureSideEffects(w, result, 'runtime.image_pull_failed');
    expect(w.docker.downloads).toBe(0);
    expect(w.docker.calls).not.toContain('run');
  });

  it('never: a local image starts without a pull', async () => {
    const w = world();
    w.deps.settings.pullPolicy = 'never';
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.docker.downloads).toBe(0);
  });

  it('always: re-pulls an image that is already local', async () => {
    const w = world();
    w.deps.settings.pullPolicy = 'always';
    w.docker.registry.set(IMAGE, { 'com.galaxy.memory': '2g' });
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.docker.downloads).toBe(1);
    expect(w.docker.images.get(IMAGE)).toEqual({ 'com.galaxy.memory': '2g' });
  });
});

describe('start: always, and a registry that cannot be reached (RTMANAGER_PULL_FALLBACK_TO_LOCAL)', () => {
  const unreachable = (w: World) => {
    w.deps.settings.pullPolicy = 'always';
    w.docker.unreachableRegistries.add('registry.galaxy.test');
  };
  const unreachableMessage = `registry registry.galaxy.test could not be reached to pull ${IMAGE}: dial tcp registry.galaxy.test: connect: connection refused`;

  it('starts on the local copy, says so in the audit row of the success, and logs a warn line', async () => {
    const w = world();
    unreachable(w);
    const result = await startRuntime(w.deps, input());
    expect(result).toMatchObject({ outcome: 'success', errorCode: null, errorMessage: '' });
    expect(w.operations.entries).toEqual([
      expect.objectContaining({
        outcome: 'success',
        errorCode: '',
        errorMessage: `started on the local copy of the image: ${unreachableMessage} (RTMANAGER_PULL_FALLBACK_TO_LOCAL)`,
      }),
    ]);
    expect(w.logger.lines.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({
        message: 'registry unreachable; starting on the local copy of the image',
        fields: expect.objectContaining({ step: 'pull_image', image_ref: IMAGE, err: unreachableMessage }) as unknown,
      }),
    ]);
    expect(w.notifications.published).toEqual([]);
    expect(w.docker.containers.size).toBe(1);
  });

  it('fails with image_pull_failed when the fallback is off', async () => {
    const w = world();
    unreachable(w);
    w.deps.settings.pullFallbackToLocal = false;
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('image_pull_failed', unreachableMessage, false));
    expectFailureSideEffects(w, result, 'runtime.image_pull_failed');
  });

  it('fails with image_pull_failed when there is no local copy to fall back on', async () => {
    const w = world();
    unreachable(w);
    w.docker.images.clear();
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('image_pull_failed', unreachableMessage, false));
    expectFailureSideEffects(w, result, 'runtime.image_pull_failed');
  });

  it('never falls back on a registry that answered no (a missing tag)', async () => {
    const w = world();
    w.deps.settings.pullPolicy = 'always';
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('image_pull_failed', /was not found in registry registry\.galaxy\.test/, false));
    expect(w.docker.containers.size).toBe(0);
  });
});

describe('start: state directory, run, record', () => {
  it('reports start_config_invalid when the state directory cannot be prepared', async () => {
    const w = world();
    w.stateDirs.fail = new Error('EACCES: permission denied');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('start_config_invalid', 'prepare state directory: EACCES: permission denied', false));
    expectFailureSideEffects(w, result, 'runtime.start_config_invalid');
    expect(w.docker.calls).not.toContain('run');
  });

  it('reports container_start_failed when the container does not run', async () => {
    const w = world();
    w.docker.failRun = new Error('OCI runtime create failed');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('container_start_failed', 'OCI runtime create failed', false));
    expectFailureSideEffects(w, result, 'runtime.container_start_failed');
    expect(w.docker.containers.size).toBe(0);
  });

  it('a Docker call past its deadline is retryable service_unavailable at every step, with no admin notification', async () => {
    const deadline = new DockerDeadlineExceeded('create', 30_000);
    for (const inject of [
      (w: World) => (w.docker.failRun = deadline),
      (w: World) => (w.docker.failInspectImage = deadline),
      (w: World) => (w.docker.failPull = deadline),
    ]) {
      const w = world();
      inject(w);
      const result = await startRuntime(w.deps, input());
      expect(result).toEqual(failure('service_unavailable', /^(run_container|inspect_image|pull_image): docker create did not answer within 30000 ms$/, true));
      expectFailureSideEffects(w, result, null);
      expect(w.docker.containers.size).toBe(0);
    }
  });

  it('a pull past its own deadline is image_pull_failed saying which deadline', async () => {
    const w = world();
    w.docker.failPull = new Error('image pull of x timed out after 900000 ms (RTMANAGER_PULL_TIMEOUT_MS)');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('image_pull_failed', 'image pull of x timed out after 900000 ms (RTMANAGER_PULL_TIMEOUT_MS)', false));
    expectFailureSideEffects(w, result, 'runtime.image_pull_failed');
  });

  it('cuts what a daemon or registry said to 1 KiB before the Result, the audit row and the notification carry it', async () => {
    const w = world();
    const echoed = `manifest unknown: ${'é'.repeat(3_000)}`;
    w.docker.failPull = new Error(echoed);
    const result = await startRuntime(w.deps, input());
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'image_pull_failed' });
    expect(new TextEncoder().encode(result.errorMessage).length).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);
    expect(result.errorMessage).toMatch(/^manifest unknown: é+… \(truncated\)$/);
    expectFailureSideEffects(w, result, 'runtime.image_pull_failed');
    expect(w.logger.lines.find((l) => l.message === 'runtime start failed')?.fields.error_message).toBe(result.errorMessage);
  });

  it('removes the container when the record cannot be written, names it in the audit, and is retryable', async () => {
    const w = world();
    w.records.failUpsert = new Error('connection refused');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('internal_error', 'upsert runtime record: connection refused', true));
    expectFailureSideEffects(w, result, null);
    expect(w.docker.containers.size).toBe(0);
    expect(w.operations.entries[0]?.containerId).toMatch(/^fake/);
    expect(w.docker.calls.filter((c) => c === 'remove')).toHaveLength(1);
  });

  it('keeps the same Result when that rollback fails too, and logs it', async () => {
    const w = world();
    w.records.failUpsert = new Error('connection refused');
    w.docker.failRemove = new Error('daemon busy');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('internal_error', 'upsert runtime record: connection refused', true));
    expect(w.logger.lines.some((l) => l.level === 'error' && l.message === 'rollback container after upsert failure')).toBe(true);
  });
});

describe('start: converging on a container a crashed attempt left', () => {
  /** A container of ours under the game's name, as a crashed attempt leaves it. */
  const ours = (w: ReturnType<typeof world>, image: string, running: boolean, startedAt = new Date()) =>
    w.docker.addContainer({
      name: 'galaxy-game-g-100',
      image,
      labels: { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'g-100', 'com.galaxy.engine_image_ref': image },
      state: running ? 'running' : 'exited',
      running,
      exitCode: running ? null : 1,
      oomKilled: false,
      startedAt,
      finishedAt: null,
    });

  it('adopts our running container with the requested image: no second container', async () => {
    const w = world();
    const id = ours(w, IMAGE, true, new Date('2026-11-25T11:00:00Z'));
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    // The limits it really has (none, as the fake made it), not those the labels ask for.
    expect(result.record).toMatchObject({
      currentContainerId: id,
      startedAt: new Date('2026-11-25T11:00:00Z'),
      currentImageDigest: fakeDigest(IMAGE),
      effectiveCpuQuota: 0,
      effectiveMemoryBytes: 0,
      effectivePidsLimit: 0,
    });
    expect(w.docker.calls).not.toContain('run');
    expect(w.docker.containers.size).toBe(1);
  });

  it('records the node the adopted container runs on, not where a new one would go', async () => {
    const w = world();
    w.docker.node = { id: 'n2', hostname: 'host-2' };
    const id = ours(w, IMAGE, true);
    w.docker.node = { id: 'n1', hostname: 'host-1' };
    const result = await startRuntime(w.deps, input());
    expect(result.record).toMatchObject({ currentContainerId: id, nodeId: 'n2', nodeHostname: 'host-2' });
    expect(w.docker.calls).not.toContain('run');
  });

  it.each([
    ['exited', false, IMAGE],
    ['running', true, OTHER_IMAGE],
  ])('replaces our stale container (%s, image %s)', async (_state, running, image) => {
    const w = world();
    const stale = ours(w, image, running);
    const result = await startRuntime(w.deps, input());
    expect(result.outcome).toBe('success');
    expect(w.docker.containers.has(stale)).toBe(false);
    expect(w.docker.containers.size).toBe(1);
    expect(result.record?.currentContainerId).not.toBe(stale);
  });

  it('answers service_unavailable when what a previous attempt left cannot be read; nothing is run', async () => {
    const w = world();
    w.docker.failInspectContainer = new Error('connect ENOENT /var/run/docker.sock');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('service_unavailable', 'inspect existing container: connect ENOENT /var/run/docker.sock', true));
    expectFailureSideEffects(w, result, null);
    expect(w.docker.calls).not.toContain('run');
  });

  it('answers service_unavailable when a stale container cannot be removed; nothing is run', async () => {
    const w = world();
    ours(w, IMAGE, false);
    w.docker.failRemove = new Error('removal of container is already in progress');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('service_unavailable', 'replace stale container: removal of container is already in progress', true));
    expect(w.docker.calls).not.toContain('run');
  });

  it('never touches a container with our name that we do not own', async () => {
    const w = world();
    const foreign = w.docker.addContainer({
      name: 'galaxy-game-g-100',
      image: 'someone/else',
      labels: {},
      state: 'running',
      running: true,
      exitCode: null,
      oomKilled: false,
      startedAt: new Date(),
      finishedAt: null,
    });
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('container_start_failed', 'container name "galaxy-game-g-100" is taken by a container rtmanager does not own', false));
    expectFailureSideEffects(w, result, 'runtime.container_start_failed');
    expect(w.docker.containers.has(foreign)).toBe(true);
    expect(w.docker.calls).not.toContain('remove');
  });
});

describe('start: a create that lands after its deadline', () => {
  /**
   * An attempt's create outlived its deadline, and the daemon made the
   * container anyway, after the next attempt's converge step had looked
   * for it: the next attempt's own create meets the name taken.
   */
  const lateCreate = (
    w: ReturnType<typeof world>,
    image = IMAGE,
    labels: Record<string, string> = { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'g-100', 'com.galaxy.engine_image_ref': IMAGE },
  ) => {
    const run = w.docker.run.bind(w.docker);
    let late: string | null = null;
    w.docker.run = (spec) => {
      late ??= w.docker.addContainer({
        name: spec.name,
        image,
        labels,
        state: 'created',
        running: false,
        exitCode: null,
        oomKilled: false,
        startedAt: null,
        finishedAt: null,
      });
      w.docker.run = run;
      return run(spec);
    };
    return () => late;
  };

  it('is no refusal: service_unavailable (retryable), no notification, and the late container is left to the re-run', async () => {
    const w = world();
    const late = lateCreate(w);
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(
      failure('service_unavailable', /^run_container: container name "galaxy-game-g-100" was taken after this attempt looked for it: Conflict\./, true),
    );
    expectFailureSideEffects(w, result, null);
    expect(w.docker.containers.has(late()!)).toBe(true);
    expect(await w.records.get('g-100')).toBeNull();
  });

  it('the re-run converges: the late container is replaced and the game runs, one container', async () => {
    const w = world();
    const late = lateCreate(w);
    expect((await startRuntime(w.deps, input())).errorCode).toBe('service_unavailable');
    const rerun = await startRuntime(w.deps, input());
    expect(rerun.outcome).toBe('success');
    expect(w.docker.containers.has(late()!)).toBe(false);
    expect(w.docker.containers.size).toBe(1);
    expect(rerun.record?.currentContainerId).toBe([...w.docker.containers.keys()][0]);
  });

  it('a name some other party took meanwhile is still refused on the re-run, and left untouched', async () => {
    const w = world();
    const late = lateCreate(w, 'someone/else', {});
    expect((await startRuntime(w.deps, input())).errorCode).toBe('service_unavailable');
    const rerun = await startRuntime(w.deps, input());
    expect(rerun).toEqual(failure('container_start_failed', 'container name "galaxy-game-g-100" is taken by a container rtmanager does not own', false));
    expect(w.docker.containers.has(late()!)).toBe(true);
  });
});

describe('start: best-effort side effects never change the Result', () => {
  it('success survives a failing audit log, health stream and still counts', async () => {
    const reference = await startRuntime(world().deps, input());
    const w = world();
    w.operations.failAppend = new Error('audit down');
    w.healthEvents.fail = new Error('stream down');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual({ ...reference, record: { ...reference.record, currentContainerId: result.record?.currentContainerId } });
    expect(result.outcome).toBe('success');
    expect(w.logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['append operation log', 'publish health event']);
    expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'success', errorCode: '', opSource: 'gm_rest' }]);
  });

  it('failure survives a failing audit log and notification stream', async () => {
    const w = world();
    w.docker.networks.clear();
    w.operations.failAppend = new Error('audit down');
    w.notifications.fail = new Error('stream down');
    const result = await startRuntime(w.deps, input());
    expect(result).toEqual(failure('start_config_invalid', 'docker network "galaxy-engines" is missing', false));
    expect(w.logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['append operation log', 'publish notification intent']);
    expect(w.telemetry.notificationIntents).toEqual([]);
  });

  it('replay survives a failing audit log', async () => {
    const w = world();
    await w.records.upsert(runningRecord(), 0);
    w.operations.failAppend = new Error('audit down');
    const result = await startRuntime(w.deps, input());
    expect(result).toMatchObject({ outcome: 'success', errorCode: 'replay_no_op' });
  });
});
