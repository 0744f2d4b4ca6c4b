import { afterEach, describe, expect, it } from 'vitest';
import { reconcileAll, reconcileOnEvent } from '../../src/domain/reconcile.js';
import { patchRuntime, restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import {
  currentGameContainers,
  expectNoContainers,
  followGames,
  gameContainer,
  gameContainerName,
  gameServices,
  gameTasks,
  runBareGame,
  testBackend,
} from '../support/backend.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld, TEST_LABEL } from '../support/real-world.js';

const LABELLED = 'galaxy-test-engine:labelled';
/** Labels asking for less than the least limits: to Docker, none at all. */
const TINY = 'galaxy-test-engine:tiny';
const worlds: RealWorld[] = [];
const stops: Array<() => Promise<void>> = [];

async function world(): Promise<RealWorld> {
  const w = await realWorld();
  worlds.push(w);
  return w;
}

async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0)) await stop();
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
}

const who = { opSource: 'admin_rest' as const, sourceRef: 'it' };
const start = (w: RealWorld, gameId: string, imageRef = LABELLED) => startRuntime(w.deps, { gameId, imageRef, ...who });
const swarm = testBackend() === 'swarm';

/**
 * The lifecycles (stop, restart, patch), the reconciler and the engine events on
 * the backend RTM_TEST_BACKEND names (test/support/backend.ts): run by
 * test/integration on one engine and by test/swarm on the one-node swarm.
 */
export function lifecycleSuite(): void {
  afterEach(cleanup);
  describe('stop, restart, patch on real Docker', stopRestartPatch);
  describe('restart and patch check the image before they stop anything (contract §14)', imageCheckedFirst);
  describe('reconciler on real Docker', reconciler);
  describe('engine events on real Docker', engineEvents);
}

/** On a swarm the reconciler reads the task, which its node reports failed a moment after the container exited. */
async function taskEnded(w: RealWorld, gameId: string): Promise<void> {
  if (swarm) await expect.poll(async () => (await gameTasks(gameId, w.docker))[0]?.Status.State, { timeout: 10_000 }).toBe('failed');
}

function stopRestartPatch(): void {
  it('stop removes the container, records stopped and keeps the state directory', async () => {
    const w = await world();
    const gameId = w.gameId('stop');
    const started = (await start(w, gameId)).record!;
    const stopped = await stopRuntime(w.deps, { gameId, ...who });
    expect(stopped).toMatchObject({
      outcome: 'success',
      errorCode: null,
      record: { status: 'stopped', currentContainerId: null, statePath: started.statePath },
    });
    // On a swarm the service goes at once, its task's container with the task.
    expect(await gameServices(gameId, w.docker)).toEqual([]);
    await expectNoContainers(() => w.containersOf(gameId));
    expect((await w.streamEntries(w.streams.health)).at(-1)).toMatchObject({ event_type: 'container_exited', container_id: started.currentContainerId });
    expect(await stopRuntime(w.deps, { gameId, ...who })).toMatchObject({ outcome: 'success', errorCode: 'replay_no_op' });
  });

  it('restart recreates the container under the same name, endpoint and state directory', async () => {
    const w = await world();
    const gameId = w.gameId('restart');
    const before = (await start(w, gameId)).record!;
    const after = await restartRuntime(w.deps, { gameId, ...who });
    expect(after, JSON.stringify({ after, log: w.logger.lines.filter((l) => l.level !== 'debug').slice(-8) })).toMatchObject({
      outcome: 'success',
      record: { status: 'running', engineEndpoint: before.engineEndpoint, statePath: before.statePath, currentImageRef: LABELLED },
    });
    expect(after.record?.currentContainerId).not.toBe(before.currentContainerId);
    const containers = await currentGameContainers(await w.containersOf(gameId), gameId, w.docker);
    expect(containers.map((c) => [c.Id, c.State])).toEqual([[after.record?.currentContainerId, 'running']]);
    expect(containers[0]?.Names[0]).toMatch(gameContainerName(gameId));
  });

  it('patch moves the game onto a new image', async () => {
    const w = await world();
    const gameId = w.gameId('patch');
    await start(w, gameId);
    const patched = await patchRuntime(w.deps, { gameId, imageRef: 'galaxy-test-engine:labelled-v2', ...who });
    expect(patched).toMatchObject({ outcome: 'success', record: { currentImageRef: 'galaxy-test-engine:labelled-v2' } });
    const containers = await currentGameContainers(await w.containersOf(gameId), gameId, w.docker);
    expect(containers.map((c) => [c.Id, c.State, c.Labels['com.galaxy.engine_image_ref']])).toEqual([
      [patched.record?.currentContainerId, 'running', 'galaxy-test-engine:labelled-v2'],
    ]);
  });
}

function imageCheckedFirst(): void {
  /** The game's containers as [id, state]: on a swarm, the current task's. */
  const running = async (w: RealWorld, gameId: string) =>
    (await currentGameContainers(await w.containersOf(gameId), gameId, w.docker)).map((c) => [c.Id, c.State]);

  it('a restart whose image the allowed registries no longer admit is refused, and the engine keeps running as recorded', async () => {
    const w = await world();
    const gameId = w.gameId('disallowed');
    const before = (await start(w, gameId)).record!;
    // The operator narrows the allowlist: the local test image is a Docker Hub name (docker.io).
    w.deps.settings.allowedRegistries = ['registry.galaxy.example'];
    const result = await restartRuntime(w.deps, { gameId, ...who });
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: 'image registry "docker.io" is not allowed (RTMANAGER_ALLOWED_REGISTRIES: registry.galaxy.example)',
      record: null,
      retryable: false,
    });
    expect(await running(w, gameId)).toEqual([[before.currentContainerId, 'running']]);
    expect(await w.records.get(gameId)).toEqual(before);
    // The restart's row only: no start ran, nothing was stopped.
    expect((await w.operations.listByGame(gameId, 10)).map((e) => [e.opKind, e.outcome, e.errorCode])).toEqual([
      ['restart', 'failure', 'start_config_invalid'],
      ['start', 'success', ''],
    ]);
    expect((await w.streamEntries(w.streams.health)).map((e) => e.event_type)).toEqual(['container_started']);
    expect((await w.streamEntries(w.streams.intents)).map((e) => e.notification_type)).toEqual(['runtime.start_config_invalid']);
  });

  it('a patch onto an image whose labels mean no limit is refused before the stop; a start of it runs nothing', async () => {
    const w = await world();
    const gameId = w.gameId('nolimit');
    const before = (await start(w, gameId)).record!;
    const refusal = {
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage:
        'image label com.galaxy.cpu_quota=0.0000000001 is below the minimum 0.01; ' +
        'image label com.galaxy.memory=0 is below the minimum 6m; ' +
        'image label com.galaxy.pids_limit=0 is below the minimum 1',
      record: null,
      retryable: false,
    };
    expect(await patchRuntime(w.deps, { gameId, imageRef: TINY, ...who })).toEqual(refusal);
    expect(await running(w, gameId)).toEqual([[before.currentContainerId, 'running']]);
    expect(await w.records.get(gameId)).toEqual(before);
    expect((await w.operations.listByGame(gameId, 1))[0]).toMatchObject({ opKind: 'patch', errorCode: 'start_config_invalid', imageRef: TINY });

    const other = w.gameId('nolimit-start');
    expect(await start(w, other, TINY)).toEqual(refusal);
    expect(await w.containersOf(other)).toEqual([]);
    expect(await gameServices(other, w.docker)).toEqual([]);
  });
}

function reconciler(): void {
  it('adopts a running container of ours that has no record', async () => {
    const w = await world();
    const gameId = w.gameId('orphan');
    // On a swarm, a service of ours with no record, its labels on it and on its container.
    const created = await runBareGame(w.docker, {
      gameId,
      image: LABELLED,
      labels: { ...w.deps.settings.extraLabels, 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': gameId, 'com.galaxy.engine_image_ref': LABELLED },
      network: w.networkName,
    });
    const summary = await reconcileAll(w.deps);
    expect(summary).toMatchObject({ containers: 1, adopted: 1 });
    expect(await w.records.get(gameId)).toMatchObject({ status: 'running', currentContainerId: created, currentImageRef: LABELLED });
    expect((await w.streamEntries(w.streams.health)).at(-1)).toMatchObject({ event_type: 'container_adopted', container_id: created });
    expect((await w.operations.listByGame(gameId, 1))[0]).toMatchObject({ opKind: 'reconcile_adopt', opSource: 'reconciler' });
  });

  it('marks a record whose container disappeared as removed', async () => {
    const w = await world();
    const gameId = w.gameId('gone');
    const record = (await start(w, gameId)).record!;
    // On a swarm the game is its service: what disappears behind the manager's back is the service (and with it the container).
    if (swarm) await w.docker.getService(`galaxy-game-${gameId}`).remove();
    await w.docker
      .getContainer(record.currentContainerId!)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        // The swarm's agent may have removed it first.
        if (!(swarm && error.statusCode === 404)) throw error;
      });
    expect(await reconcileAll(w.deps)).toMatchObject({ disappeared: 1 });
    expect(await w.records.get(gameId)).toMatchObject({ status: 'removed' });
    expect((await w.streamEntries(w.streams.health)).at(-1)).toMatchObject({ event_type: 'container_disappeared' });
  });

  it('marks an engine that exited, with its exit code', async () => {
    const w = await world();
    const gameId = w.gameId('exits');
    // On a swarm an engine that exits before its task is seen running fails its start (test/swarm/swarm-engine.test.ts):
    // the reconciler's part needs one that ran first.
    expect(await start(w, gameId, swarm ? 'galaxy-test-engine:exits-later' : 'galaxy-test-engine:exits')).toMatchObject({ outcome: 'success' });
    await expect.poll(async () => (await w.containersOf(gameId)).map((c) => c.State), { timeout: 10_000 }).toEqual(['exited']);
    await taskEnded(w, gameId);
    expect(await reconcileAll(w.deps)).toMatchObject({ exited: 1 });
    expect(await w.records.get(gameId)).toMatchObject({ status: 'exited' });
    const event = (await w.streamEntries(w.streams.health)).at(-1)!;
    expect(event.event_type).toBe('container_exited');
    expect(JSON.parse(event.details!)).toMatchObject({ exit_code: 1, oom_killed: false, stopped_by: 'engine' });
    expect(await w.records.get(gameId)).toMatchObject({ lastExitCode: 1 });
  });

  it('marks an engine the kernel killed for memory as OOM', async () => {
    const w = await world();
    const gameId = w.gameId('oom');
    await start(w, gameId, 'galaxy-test-engine:hog');
    await expect.poll(async () => (await w.containersOf(gameId)).map((c) => c.State), { timeout: 10_000 }).toEqual(['exited']);
    await taskEnded(w, gameId);
    expect(await reconcileAll(w.deps)).toMatchObject({ oom: 1 });
    const event = (await w.streamEntries(w.streams.health)).at(-1)!;
    expect(event.event_type).toBe('container_oom');
    expect(JSON.parse(event.details!)).toMatchObject({ oom_killed: true, exit_code: 137 });
  });

  it('never touches a container without our owner label, even one with our name', async () => {
    const w = await world();
    const gameId = w.gameId('foreign');
    // On a swarm, a service with our name and without our owner label.
    const foreign = await runBareGame(w.docker, {
      gameId,
      image: LABELLED,
      labels: { ...TEST_LABEL, 'com.galaxy.test_run': String(w.deps.settings.extraLabels?.['com.galaxy.test_run']), 'com.galaxy.game_id': gameId },
      network: w.networkName,
    });
    expect(await reconcileAll(w.deps)).toMatchObject({ containers: 0, adopted: 0 });
    const refused = await start(w, gameId);
    expect(refused).toMatchObject({ outcome: 'failure', errorCode: 'container_start_failed' });
    expect(await stopRuntime(w.deps, { gameId, ...who })).toMatchObject({ outcome: 'success', errorCode: 'replay_no_op' });
    expect((await w.docker.getContainer(foreign).inspect()).State.Running).toBe(true);
    if (swarm) expect((await gameContainer(gameId, w.docker)).Id).toBe(foreign);
  });
}

/** RTMANAGER_SWARM_POLL_MS's default: the follower reads as production does. */
const SWARM_POLL_MS = 1_000;

function engineEvents(): void {
  it('a docker kill reaches the health stream and the record through the follower, at its first sight of the death', async () => {
    const w = await world();
    const gameId = w.gameId('kill');
    // The game's container once started, and whether it was killed yet (read by the wrappers below).
    const watched = { containerId: '', killed: false };
    // On a swarm, what each of the follower's reads of the tasks showed of this game's engine.
    const reads: Array<'running' | 'dead' | 'unknown'> = [];
    const engine: typeof w.engine = Object.create(w.engine) as typeof w.engine;
    engine.listContainers = async (labels) => {
      const listed = await w.engine.listContainers(labels);
      const mine = listed.find((c) => c.id === watched.containerId);
      reads.push(mine === undefined ? 'unknown' : mine.running ? 'running' : 'dead');
      return listed;
    };
    let handed: (handled: { action: string; atRead: number }) => void = () => undefined;
    const killHandled = new Promise<{ action: string; atRead: number }>((resolve) => (handed = resolve));
    const follower = await followGames({
      engine,
      labels: { 'com.galaxy.owner': 'rtmanager', ...w.deps.settings.extraLabels },
      onEvent: async (event) => {
        // The follower hands an event on right after the read that showed it: this is that read's number.
        const atRead = reads.length;
        // Only an event handed on after the kill is the kill's: on a swarm, a task still starting reads as not running.
        const ofTheKill = watched.killed;
        await reconcileOnEvent(w.deps, event.labels['com.galaxy.game_id'] ?? '', (ms) => new Promise((r) => setTimeout(r, ms)));
        if (ofTheKill && event.containerId === watched.containerId) handed({ action: event.action, atRead });
      },
      logger: w.logger,
      pollMs: SWARM_POLL_MS,
    });
    stops.push(() => follower.stop());
    await follower.connected;
    const record = (await start(w, gameId)).record!;
    watched.containerId = record.currentContainerId!;
    const containerId = watched.containerId;
    // A swarm's follower learns of a change from one read of the tasks to the next: it must have read the engine running.
    if (swarm) await expect.poll(() => reads.includes('running'), { timeout: 30_000, interval: 20 }).toBe(true);
    const killedAt = Date.now();
    watched.killed = true;
    await w.docker.getContainer(containerId).kill();
    // Bounded by the thing awaited, not a stopwatch: the follower's handling of this kill, which nothing else triggers
    // (no reconcile pass runs here). One engine pushes its die event; on a swarm the follower must act on the
    // first read that shows the engine dead, not a later one.
    const handled = await killHandled;
    const latency = Date.now() - killedAt;
    expect(handled.action).toBe('die');
    if (swarm) expect(handled.atRead, JSON.stringify(reads)).toBe(reads.indexOf('dead') + 1);
    // Read once, after the handling: it is what wrote them.
    const events = await w.streamEntries(w.streams.health);
    expect(events.map((e) => e.event_type)).toContain('container_exited');
    expect(events.find((e) => e.event_type === 'container_exited')).toMatchObject({ game_id: gameId, container_id: containerId });
    // Contract §15: nobody asked for this exit; SIGKILL's code.
    expect(JSON.parse(events.find((e) => e.event_type === 'container_exited')!.details!)).toMatchObject({ exit_code: 137, stopped_by: 'engine' });
    expect(await w.records.get(gameId)).toMatchObject({ status: 'exited' });
    console.log(`docker kill → container_exited on the health stream and the record: ${latency} ms`);
  });
}
