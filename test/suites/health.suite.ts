import { existsSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcileAll, reconcileOnEvent } from '../../src/domain/reconcile.js';
import { patchRuntime, restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { expectNoContainers, followGames, gameContainer, gameServices, testBackend } from '../support/backend.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';

/** Healthy while `ok` is in the game's state directory; first probe 1 s after the start, unhealthy after two failures. */
const HEALTH = 'galaxy-test-engine:healthcheck';
const worlds: RealWorld[] = [];
const stops: Array<() => Promise<void>> = [];
const who = { opSource: 'admin_rest' as const, sourceRef: 'it' };
const swarm = testBackend() === 'swarm';

async function world(): Promise<RealWorld> {
  const w = await realWorld();
  worlds.push(w);
  return w;
}

const okFile = (w: RealWorld, gameId: string) => path.join(w.stateRoot, gameId, 'ok');
const start = (w: RealWorld, gameId: string) => startRuntime(w.deps, { gameId, imageRef: HEALTH, ...who });
const healthOf = async (gameId: string, w: RealWorld) => (await gameContainer(gameId, w.docker)).State.Health?.Status;

/** Starts the game, putting `ok` in its state directory as soon as the start has made it: the engine is healthy at its first probe. */
async function startHealthy(w: RealWorld, gameId: string) {
  const started = start(w, gameId);
  await expect.poll(() => existsSync(path.dirname(okFile(w, gameId))), { timeout: 30_000, interval: 5 }).toBe(true);
  await writeFile(okFile(w, gameId), '');
  return started;
}

/** Hands every event of our engines to the reconciler, as the worker does; `seen` holds the actions heard. */
async function follow(w: RealWorld, seen: string[] = []): Promise<string[]> {
  const follower = await followGames({
    engine: w.engine,
    labels: { 'com.galaxy.owner': 'rtmanager', ...w.deps.settings.extraLabels },
    onEvent: async (event) => {
      seen.push(event.action);
      await reconcileOnEvent(w.deps, event.labels['com.galaxy.game_id'] ?? '', (ms) => new Promise((r) => setTimeout(r, ms)));
    },
    logger: w.logger,
  });
  stops.push(() => follower.stop());
  await follower.connected;
  return seen;
}

/**
 * Contract §15 on the backend RTM_TEST_BACKEND names: run by test/integration
 * on one engine and by test/swarm on the one-node swarm.
 */
export function healthSuite(): void {
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
  });

  describe("'running' means ready", () => {
    it('a start waits for the engine to be healthy, and its record says so', async () => {
      const w = await world();
      const gameId = w.gameId('ready');
      const result = await startHealthy(w, gameId);
      expect(result).toMatchObject({ outcome: 'success', record: { status: 'running', health: 'healthy' } });
      // Docker's own verdict, read after the start answered: it did not answer before it.
      expect(await healthOf(gameId, w)).toBe('healthy');
      expect(await w.records.get(gameId)).toMatchObject({ health: 'healthy' });
    });

    it('no verdict within RTMANAGER_START_HEALTH_TIMEOUT_MS: container_start_failed, no container left, the state directory kept', async () => {
      const w = await world();
      const gameId = w.gameId('slow');
      // Below the first probe's second: no verdict can come in time.
      w.deps.settings.startHealthTimeoutMs = 300;
      const result = await start(w, gameId);
      expect(result).toEqual({
        outcome: 'failure',
        errorCode: 'container_start_failed',
        errorMessage: 'engine not healthy within 300 ms (RTMANAGER_START_HEALTH_TIMEOUT_MS)',
        record: null,
        retryable: false,
      });
      await expectNoContainers(() => w.containersOf(gameId));
      expect(await gameServices(gameId, w.docker)).toEqual([]);
      expect((await stat(path.join(w.stateRoot, gameId))).isDirectory()).toBe(true);
      expect(await w.records.get(gameId)).toBeNull();
      expect((await w.streamEntries(w.streams.intents)).map((e) => e.notification_type)).toEqual(['runtime.container_start_failed']);
    });

    it('an engine that turns unhealthy before it is ready: container_start_failed, no container left', async () => {
      const w = await world();
      const gameId = w.gameId('sick');
      const result = await start(w, gameId);
      expect(result).toMatchObject({
        outcome: 'failure',
        errorCode: 'container_start_failed',
        errorMessage: 'engine turned unhealthy before it was ready (its HEALTHCHECK failed)',
      });
      await expectNoContainers(() => w.containersOf(gameId));
      expect(await gameServices(gameId, w.docker)).toEqual([]);
    });
  });

  describe('restart and patch start through the same wait', () => {
    it('a patch onto an image with a HEALTHCHECK and a restart of it each succeed once healthy', async () => {
      const w = await world();
      const gameId = w.gameId('patch');
      const before = await startRuntime(w.deps, { gameId, imageRef: 'galaxy-test-engine:labelled', ...who });
      expect(before).toMatchObject({ outcome: 'success', record: { health: 'none' } });
      await writeFile(okFile(w, gameId), '');
      // On a swarm a rolling update: Swarm runs the new task once healthy.
      const patched = await patchRuntime(w.deps, { gameId, imageRef: HEALTH, ...who });
      expect(patched).toMatchObject({ outcome: 'success', record: { currentImageRef: HEALTH, health: 'healthy' } });
      expect(await healthOf(gameId, w)).toBe('healthy');
      const restarted = await restartRuntime(w.deps, { gameId, ...who });
      expect(restarted).toMatchObject({ outcome: 'success', record: { health: 'healthy' } });
      expect(restarted.record?.currentContainerId).not.toBe(patched.record?.currentContainerId);
      expect(await healthOf(gameId, w)).toBe('healthy');
    });
  });

  describe('health followed', () => {
    it(
      swarm
        ? 'the file deleted: Swarm ends the unhealthy task, and the record says unhealthy and exited, container_unhealthy before container_exited'
        : 'the file deleted: the record turns unhealthy with container_unhealthy; created again: healthy with container_healthy',
      async () => {
        const w = await world();
        const gameId = w.gameId('flip');
        const seen = await follow(w);
        expect(await startHealthy(w, gameId)).toMatchObject({ outcome: 'success' });
        await rm(okFile(w, gameId));
        await expect.poll(async () => (await w.records.get(gameId))?.health, { timeout: 30_000, interval: 50 }).toBe('unhealthy');
        const types = async () => (await w.streamEntries(w.streams.health)).map((e) => e.event_type);
        if (swarm) {
          await expect.poll(async () => (await w.records.get(gameId))?.status, { timeout: 30_000, interval: 50 }).toBe('exited');
          await expect.poll(types, { timeout: 10_000, interval: 50 }).toEqual(['container_started', 'container_unhealthy', 'container_exited']);
          return;
        }
        expect(seen).toContain('health_status: unhealthy');
        // The record is written before the event is published (reconcile.ts): the event may be a moment behind.
        await expect.poll(types, { timeout: 10_000, interval: 50 }).toEqual(['container_started', 'container_unhealthy']);
        expect(await w.records.get(gameId)).toMatchObject({ status: 'running', health: 'unhealthy' });
        await writeFile(okFile(w, gameId), '');
        await expect.poll(async () => (await w.records.get(gameId))?.health, { timeout: 30_000, interval: 50 }).toBe('healthy');
        expect(seen).toContain('health_status: healthy');
        await expect.poll(types, { timeout: 10_000, interval: 50 }).toEqual(['container_started', 'container_unhealthy', 'container_healthy']);
        // The follower publishes in the background, the stream first, then the snapshot (health-events.ts):
        // the stream's entry can be read before the snapshot is written.
        await expect.poll(async () => (await w.snapshots.get(gameId))?.eventType, { timeout: 10_000, interval: 50 }).toBe('container_healthy');
      },
    );

    // Not declared on a swarm, rather than skipped: there Swarm ends an unhealthy task itself, so no pass
    // ever finds a running engine whose health drifted (docs/operations.md, Swarm).
    (swarm ? () => undefined : it)('with no event heard, the periodic pass corrects the health from its inspect', async () => {
      const w = await world();
      const gameId = w.gameId('pass');
      expect(await startHealthy(w, gameId)).toMatchObject({ outcome: 'success' });
      await rm(okFile(w, gameId));
      await expect.poll(() => healthOf(gameId, w), { timeout: 30_000, interval: 50 }).toBe('unhealthy');
      expect(await reconcileAll(w.deps)).toMatchObject({ health_changed: 1 });
      expect(await w.records.get(gameId)).toMatchObject({ status: 'running', health: 'unhealthy' });
      expect((await w.streamEntries(w.streams.health)).map((e) => e.event_type)).toEqual(['container_started', 'container_unhealthy']);
      expect(await w.snapshots.get(gameId)).toMatchObject({ eventType: 'container_unhealthy' });
      expect(await reconcileAll(w.deps)).toMatchObject({ health_changed: 0, unchanged: 1 });
    });
  });
}
