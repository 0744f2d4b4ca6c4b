import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcileAll } from '../../src/domain/reconcile.js';
import { patchRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { gameServices, gameTasks, testBackend } from '../support/backend.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';

/** Traps SIGINT (its label, `int`) and SIGUSR1, writes which one came into its state directory, exits 0; ignores SIGTERM. */
const GRACEFUL = 'galaxy-test-engine:graceful';
/** The same engine with no stop label and `STOPSIGNAL SIGUSR1`. */
const GRACEFUL_STOPSIGNAL = 'galaxy-test-engine:graceful-stopsignal';
/** Ignores SIGINT (its label) and SIGTERM: killed at its own timeout, 3 s (its label). */
const STUBBORN = 'galaxy-test-engine:stubborn';
/** com.galaxy.stop_timeout=301, above the default ceiling. */
const SLOW_STOP = 'galaxy-test-engine:slow-stop';

const who = { opSource: 'admin_rest' as const, sourceRef: 'it' };
const swarm = testBackend() === 'swarm';
const worlds: RealWorld[] = [];

/**
 * Hardened as in production and as a non-root user (contract §12), which
 * owns the state directory: the trap must be able to write it.
 */
async function world(): Promise<RealWorld> {
  const w = await realWorld({
    env: { RTMANAGER_CONTAINER_USER: '65534:65534', RTMANAGER_GAME_STATE_OWNER_UID: '65534', RTMANAGER_GAME_STATE_OWNER_GID: '65534' },
  });
  worlds.push(w);
  return w;
}

/** Started, and ready: its traps are set once it wrote `ready` (a signal before that would find none). */
async function startReady(w: RealWorld, gameId: string, imageRef: string) {
  const result = await startRuntime(w.deps, { gameId, imageRef, ...who });
  expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'success' });
  const record = result.record!;
  await expect
    .poll(
      () =>
        readFile(path.join(record.statePath!, 'ready'), 'utf8').then(
          () => true,
          () => false,
        ),
      { timeout: 20_000 },
    )
    .toBe(true);
  return record;
}

async function lastEvent(w: RealWorld) {
  const event = (await w.streamEntries(w.streams.health)).at(-1)!;
  return { type: event.event_type, containerId: event.container_id, details: JSON.parse(event.details ?? '{}') as Record<string, unknown> };
}

/**
 * Contract §15's graceful stop on the backend RTM_TEST_BACKEND names: run by
 * test/integration on one engine and by test/swarm on the one-node swarm.
 * The signal travels Docker (or Swarm's agent) → the init process (§12) →
 * the engine; the engine's file in its state directory is the proof it arrived.
 */
export function gracefulStopSuite(): void {
  afterEach(async () => {
    await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
  });

  describe('graceful stop on real Docker (contract §15)', () => {
    it("the label's signal reaches the engine through the init: it writes its file and exits 0, as the audit row, the event and the record say", async () => {
      const w = await world();
      const gameId = w.gameId('graceful');
      const record = await startReady(w, gameId, GRACEFUL);
      // Set on the container (a service's spec on a swarm) at its creation, from the labels (`int` → SIGINT).
      expect(await w.engine.inspectContainer(record.currentContainerId!)).toMatchObject({ stopSignal: 'SIGINT', stopTimeoutSeconds: 10 });

      const stopped = await stopRuntime(w.deps, { gameId, ...who });
      expect(stopped).toMatchObject({ outcome: 'success', errorCode: null, record: { status: 'stopped', lastExitCode: 0 } });
      expect(await readFile(path.join(record.statePath!, 'stopped-by'), 'utf8')).toBe('INT\n');
      expect((await w.operations.listByGame(gameId, 1))[0]).toMatchObject({ opKind: 'stop', outcome: 'success', exitCode: 0 });
      expect(await lastEvent(w)).toEqual({
        type: 'container_exited',
        containerId: record.currentContainerId,
        details: { reason: 'stop_requested', exit_code: 0, oom_killed: false, stopped_by: 'operation' },
      });
      expect(await w.records.get(gameId)).toMatchObject({ status: 'stopped', lastExitCode: 0 });
    });

    it("with no label, the image's own STOPSIGNAL is the one sent", async () => {
      const w = await world();
      const gameId = w.gameId('stopsignal');
      const record = await startReady(w, gameId, GRACEFUL_STOPSIGNAL);
      // No label: the configured timeout (the tests' RTMANAGER_STOP_TIMEOUT_SECONDS).
      expect(await w.engine.inspectContainer(record.currentContainerId!)).toMatchObject({
        stopSignal: 'SIGUSR1',
        stopTimeoutSeconds: w.deps.settings.stopTimeoutSeconds,
      });
      await stopRuntime(w.deps, { gameId, ...who });
      expect(await readFile(path.join(record.statePath!, 'stopped-by'), 'utf8')).toBe('USR1\n');
      expect((await w.operations.listByGame(gameId, 1))[0]).toMatchObject({ opKind: 'stop', exitCode: 0 });
    });

    it('an engine that ignores its signal is killed at its own timeout, not the configured one: exit 137', async () => {
      const w = await world();
      const gameId = w.gameId('stubborn');
      const record = await startReady(w, gameId, STUBBORN);
      expect(w.deps.settings.stopTimeoutSeconds).toBeLessThan(3);
      expect(await w.engine.inspectContainer(record.currentContainerId!)).toMatchObject({ stopSignal: 'SIGINT', stopTimeoutSeconds: 3 });
      const sentAt = Date.now();
      const stopped = await stopRuntime(w.deps, { gameId, ...who });
      // A lower bound the timer under test sets, not a speed claim: with the configured 1 s the kill would come at about 1 s.
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2_500);
      expect(stopped).toMatchObject({ outcome: 'success', record: { lastExitCode: 137 } });
      expect((await w.operations.listByGame(gameId, 1))[0]).toMatchObject({ opKind: 'stop', exitCode: 137 });
      expect((await lastEvent(w)).details).toEqual({ reason: 'stop_requested', exit_code: 137, oom_killed: false, stopped_by: 'operation' });
    });

    it('a stop timeout above the ceiling is start_config_invalid naming the label and the ceiling, and nothing runs', async () => {
      const w = await world();
      const gameId = w.gameId('slow');
      expect(await startRuntime(w.deps, { gameId, imageRef: SLOW_STOP, ...who })).toEqual({
        outcome: 'failure',
        errorCode: 'start_config_invalid',
        errorMessage: 'image label com.galaxy.stop_timeout=301 is above the maximum 300 (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)',
        record: null,
        retryable: false,
      });
      expect(await w.containersOf(gameId)).toEqual([]);
      expect(await gameServices(gameId, w.docker)).toEqual([]);
      expect(await w.records.get(gameId)).toBeNull();
    });

    it('a patch onto an image whose stop label is refused is refused before the stop: the engine runs on, untouched (contract §14)', async () => {
      const w = await world();
      const gameId = w.gameId('patch-slow');
      const before = await startReady(w, gameId, GRACEFUL);
      const refused = await patchRuntime(w.deps, { gameId, imageRef: SLOW_STOP, ...who });
      expect(refused).toMatchObject({ outcome: 'failure', errorCode: 'start_config_invalid' });
      expect(await w.engine.inspectContainer(before.currentContainerId!)).toMatchObject({ running: true, stopSignal: 'SIGINT' });
      expect(await w.records.get(gameId)).toEqual(before);
      // Nothing was sent to the engine: it wrote no stop.
      expect(await readFile(path.join(before.statePath!, 'stopped-by'), 'utf8').catch(() => 'none')).toBe('none');
    });

    it('an exit nobody asked for is told stopped_by engine, with its code, and the record keeps it', async () => {
      const w = await world();
      const gameId = w.gameId('crash');
      // Runs two seconds, then exits 1 (on a swarm, one that exits at once fails its start instead).
      expect(await startRuntime(w.deps, { gameId, imageRef: 'galaxy-test-engine:exits-later', ...who })).toMatchObject({ outcome: 'success' });
      await expect.poll(async () => (await w.containersOf(gameId)).map((c) => c.State), { timeout: 10_000 }).toEqual(['exited']);
      if (swarm) await expect.poll(async () => (await gameTasks(gameId, w.docker))[0]?.Status.State, { timeout: 10_000 }).toBe('failed');
      expect(await reconcileAll(w.deps)).toMatchObject({ exited: 1 });
      expect(await lastEvent(w)).toMatchObject({ type: 'container_exited', details: { exit_code: 1, oom_killed: false, stopped_by: 'engine' } });
      expect(await w.records.get(gameId)).toMatchObject({ status: 'exited', lastExitCode: 1 });
      expect((await w.operations.listByGame(gameId, 1))[0]).toMatchObject({ opKind: 'reconcile_observe', exitCode: 1 });
    });
  });
}
