import { stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/domain/start.js';
import { runtimeRecords } from '../../src/infra/db/schema.js';
import { expectNoContainers, gameContainer, gameContainerName, gameServices, testBackend } from '../support/backend.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';

const LABELLED = 'galaxy-test-engine:labelled';
const worlds: RealWorld[] = [];

async function world(opts: Parameters<typeof realWorld>[0] = {}): Promise<RealWorld> {
  const w = await realWorld(opts);
  worlds.push(w);
  return w;
}

async function cleanup(): Promise<void> {
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
}

const start = (w: RealWorld, gameId: string, imageRef = LABELLED) => startRuntime(w.deps, { gameId, imageRef, opSource: 'gm_rest', sourceRef: 'it' });
const swarm = testBackend() === 'swarm';

/**
 * The start contract on the backend RTM_TEST_BACKEND names (test/support/backend.ts):
 * run by test/integration on one engine and by test/swarm on the one-node swarm.
 */
export function startPipelineSuite(): void {
  afterEach(cleanup);
  describe('start on real Docker, Redis and Postgres', startOnRealServices);
}

function startOnRealServices(): void {
  it('runs the container exactly as contract §8 says and records, audits and announces it', async () => {
    const w = await world();
    const gameId = w.gameId('full');
    const result = await start(w, gameId);
    expect(result).toMatchObject({ outcome: 'success', errorCode: null, errorMessage: '', retryable: false });
    const record = result.record!;

    const info = await gameContainer(gameId, w.docker);
    expect(info.Id).toBe(record.currentContainerId);
    expect(info.Name).toMatch(gameContainerName(gameId));
    expect(info.Config.Hostname).toBe(`galaxy-game-${gameId}`);
    expect(info.Config.Labels).toMatchObject({
      'com.galaxy.owner': 'rtmanager',
      'com.galaxy.kind': 'game-engine',
      'com.galaxy.game_id': gameId,
      'com.galaxy.engine_image_ref': LABELLED,
      'com.galaxy.started_at_ms': expect.stringMatching(/^\d{13}$/) as string,
    });
    // Swarm adds its own to the container's: the container is the game service's task's.
    if (swarm) expect(info.Config.Labels).toMatchObject({ 'com.docker.swarm.service.name': `galaxy-game-${gameId}` });
    expect(info.Config.Env).toEqual(expect.arrayContaining(['GALAXY_ENGINE_STATE_DIR=/var/lib/galaxy/engine', 'STORAGE_PATH=/var/lib/galaxy/engine']));
    expect(info.HostConfig).toMatchObject({
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      PidsLimit: 64,
      // A task's container joins its overlay network by endpoint; its mode stays Docker's default.
      NetworkMode: swarm ? 'default' : w.networkName,
      // Swarm carries the scratch tmpfs as a typed mount (one engine: HostConfig.Tmpfs).
      Mounts: [
        { Type: 'bind', Source: `${w.stateRoot}/${gameId}`, Target: '/var/lib/galaxy/engine' },
        ...(swarm ? [{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024 } }] : []),
      ],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([w.networkName]);
    expect(info.State.Running).toBe(true);
    expect((await stat(`${w.stateRoot}/${gameId}`)).mode & 0o777).toBe(0o750);

    const stored = await w.records.get(gameId);
    expect(stored).toEqual(record);
    expect(stored).toMatchObject({
      status: 'running',
      currentImageRef: LABELLED,
      engineEndpoint: `http://galaxy-game-${gameId}:8080`,
      statePath: `${w.stateRoot}/${gameId}`,
      dockerNetwork: w.networkName,
      stoppedAt: null,
    });
    expect(stored?.startedAt?.toISOString()).toBe(new Date(info.State.StartedAt).toISOString());

    expect(await w.operations.listByGame(gameId, 10)).toEqual([
      expect.objectContaining({ opKind: 'start', opSource: 'gm_rest', outcome: 'success', containerId: info.Id, errorCode: '', imageRef: LABELLED }),
    ]);
    const events = await w.streamEntries(w.streams.health);
    expect(events).toEqual([
      {
        game_id: gameId,
        container_id: info.Id,
        event_type: 'container_started',
        occurred_at_ms: String(record.startedAt!.getTime()),
        details: JSON.stringify({ image_ref: LABELLED }),
      },
    ]);
    expect(await w.snapshots.get(gameId)).toMatchObject({ eventType: 'container_started', containerId: info.Id });
    expect(await w.redis.keys(`test:*:lease:${gameId}`)).toEqual([]);
  });

  it.each([
    ['galaxy-test-engine:plain', 'labels are missing'],
    ['galaxy-test-engine:badlabels', 'labels are unparseable'],
  ])('falls back to the configured limits when %s (%s)', async (image) => {
    const w = await world();
    const gameId = w.gameId('defaults');
    const result = await start(w, gameId, image);
    expect(result.outcome).toBe('success');
    const info = await gameContainer(gameId, w.docker);
    expect(info.HostConfig).toMatchObject({ NanoCpus: 1_000_000_000, Memory: 512 * 1024 * 1024, PidsLimit: 256 });
  });

  it('replays a running game without touching Docker, and refuses another image', async () => {
    const w = await world();
    const gameId = w.gameId('replay');
    const first = await start(w, gameId);
    const again = await start(w, gameId);
    expect(again).toEqual({ ...first, errorCode: 'replay_no_op' });
    expect(await w.containersOf(gameId)).toHaveLength(1);
    const conflict = await start(w, gameId, 'galaxy-test-engine:labelled-v2');
    expect(conflict).toEqual({
      outcome: 'failure',
      errorCode: 'conflict',
      errorMessage: `runtime already running with image_ref "${LABELLED}"`,
      record: null,
      retryable: false,
    });
    expect((await w.operations.listByGame(gameId, 10)).map((e) => e.errorCode)).toEqual(['conflict', 'replay_no_op', '']);
  });

  it('fails a pull of an image no registry serves, with an admin notification', async () => {
    const w = await world();
    const gameId = w.gameId('pull');
    const image = 'registry.invalid/galaxy/engine:404';
    const result = await start(w, gameId, image);
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'image_pull_failed', retryable: false });
    expect(await w.containersOf(gameId)).toEqual([]);
    expect(await gameServices(gameId, w.docker)).toEqual([]);
    const [intent] = await w.streamEntries(w.streams.intents);
    expect(intent).toMatchObject({ notification_type: 'runtime.image_pull_failed', audience: 'admin' });
    const payload = JSON.parse(intent!.payload!) as Record<string, unknown>;
    expect(payload).toEqual({
      game_id: gameId,
      image_ref: image,
      error_code: 'image_pull_failed',
      error_message: result.errorMessage,
      attempted_at_ms: expect.any(Number),
    });
    expect(intent!.idempotency_key).toBe(`runtime.image_pull_failed.${gameId}.${String(payload.attempted_at_ms)}`);
  });

  it('refuses a missing network with start_config_invalid and a notification', async () => {
    const w = await world({ network: null });
    const gameId = w.gameId('nonet');
    const result = await start(w, gameId);
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: `docker network "${w.networkName}" is missing`,
      record: null,
      retryable: false,
    });
    expect((await w.streamEntries(w.streams.intents))[0]?.notification_type).toBe('runtime.start_config_invalid');
  });

  it('removes the container when the record cannot be written', async () => {
    const w = await world();
    const gameId = w.gameId('rollback');
    w.deps.records = {
      ...w.records,
      get: (id) => w.records.get(id),
      list: (q) => w.records.list(q),
      leaseFence: (id) => w.records.leaseFence(id),
      upsert: () => Promise.reject(new Error('database is down')),
    };
    const result = await start(w, gameId);
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'internal_error',
      errorMessage: 'upsert runtime record: database is down',
      record: null,
      retryable: true,
    });
    expect(await gameServices(gameId, w.docker)).toEqual([]);
    await expectNoContainers(() => w.containersOf(gameId));
    const [audit] = await w.operations.listByGame(gameId, 1);
    expect(audit?.containerId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('adopts the container a crashed attempt left running, instead of failing on its name', async () => {
    const w = await world();
    const gameId = w.gameId('adopt');
    const first = await start(w, gameId);
    // The crash: the container runs but the record never got written.
    await w.database.db.delete(runtimeRecords);
    expect(await w.records.get(gameId)).toBeNull();
    const rerun = await start(w, gameId);
    expect(rerun).toMatchObject({ outcome: 'success', errorCode: null, record: { currentContainerId: first.record!.currentContainerId } });
    expect(await w.containersOf(gameId)).toHaveLength(1);
    if (swarm) expect(await gameServices(gameId, w.docker)).toHaveLength(1);
  });
}
