/**
 * Contract §15 in the domain: a start waits for an image's HEALTHCHECK
 * (`await_healthy`), and the reconciler follows the engine's health after.
 */
import { describe, expect, it } from 'vitest';
import { DockerDeadlineExceeded } from '../../src/domain/errors.js';
import { healthChangeEvent } from '../../src/domain/health-follow.js';
import type { RuntimeHealth } from '../../src/domain/model.js';
import { reconcileAll, reconcileGame } from '../../src/domain/reconcile.js';
import { restartRuntime } from '../../src/domain/restart.js';
import { startRuntime } from '../../src/domain/start.js';
import { failure } from '../fakes/results.js';
import type { World } from '../fakes/world.js';
import { IMAGE, ownContainer, world } from '../fakes/world.js';

const CHECKED = 'registry.galaxy.test/engines/galaxy:checked';
const who = { opSource: 'gm_rest' as const, sourceRef: 'req-1' };

/** A world whose CHECKED image has a HEALTHCHECK answering `probe` (`starting`: no verdict ever). */
function checkedWorld(probe: RuntimeHealth = 'healthy'): World & { verdict: { now: RuntimeHealth } } {
  const w = world();
  const verdict = { now: probe };
  w.docker.images.set(CHECKED, { ...w.docker.images.get(IMAGE) });
  w.docker.healthchecks.set(CHECKED, () => verdict.now);
  return { ...w, verdict };
}

const start = (w: World, imageRef = CHECKED) => startRuntime(w.deps, { gameId: 'g-1', imageRef, ...who });

describe('start: await_healthy', () => {
  it('an image with a HEALTHCHECK: the start waits for healthy, and its record says so', async () => {
    const w = checkedWorld('healthy');
    const result = await start(w);
    expect(result).toMatchObject({ outcome: 'success', errorCode: null, record: { status: 'running', health: 'healthy' } });
    expect(await w.records.get('g-1')).toEqual(result.record);
    expect(w.docker.calls).toContain('awaitHealth');
    expect(w.logger.lines.filter((l) => l.message === 'start step').map((l) => l.fields.step)).toContain('await_healthy');
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_started']);
  });

  it('an image without one is not waited for: health none', async () => {
    const w = checkedWorld();
    const result = await start(w, IMAGE);
    expect(result).toMatchObject({ outcome: 'success', record: { health: 'none' } });
    expect(w.docker.calls).not.toContain('awaitHealth');
  });

  it.each([
    ['unhealthy', 'engine turned unhealthy before it was ready (its HEALTHCHECK failed)'],
    ['starting', 'engine not healthy within 20 ms (RTMANAGER_START_HEALTH_TIMEOUT_MS)'],
  ] as const)('%s: container_start_failed, the container removed, nothing recorded, the state directory kept', async (probe, message) => {
    const w = checkedWorld(probe);
    w.deps.settings.startHealthTimeoutMs = 20;
    const result = await start(w);
    expect(result).toEqual(failure('container_start_failed', message, false));
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toBeNull();
    expect(w.stateDirs.prepared).toEqual(['/srv/game-state/g-1']);
    expect(w.operations.entries).toEqual([
      expect.objectContaining({ opKind: 'start', outcome: 'failure', errorCode: 'container_start_failed', errorMessage: message }),
    ]);
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.container_start_failed']);
    expect(w.healthEvents.published).toEqual([]);
    expect(w.leases.held.size).toBe(0);
  });

  it('an engine that exits while it is awaited: container_start_failed, and it goes', async () => {
    const w = checkedWorld('starting');
    w.deps.settings.startHealthTimeoutMs = 5_000;
    const running = start(w);
    await expect.poll(() => w.docker.calls.includes('awaitHealth')).toBe(true);
    const [id] = [...w.docker.containers.keys()];
    w.docker.markExited(id!, 1, false);
    expect(await running).toEqual(failure('container_start_failed', 'engine stopped before its HEALTHCHECK said healthy', false));
    expect(w.docker.containers.size).toBe(0);
  });

  it('a daemon that does not answer the wait: service_unavailable (retryable), and the container goes', async () => {
    const w = checkedWorld();
    w.docker.awaitHealth = () => Promise.reject(new DockerDeadlineExceeded('events', 30_000));
    const result = await start(w);
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'service_unavailable', retryable: true });
    expect(w.docker.containers.size).toBe(0);
    expect(await w.records.get('g-1')).toBeNull();
  });

  it('a restart goes through the same step: an engine that turns unhealthy fails it', async () => {
    const w = checkedWorld('healthy');
    await start(w);
    w.verdict.now = 'unhealthy';
    const result = await restartRuntime(w.deps, { gameId: 'g-1', ...who });
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'container_start_failed' });
    expect(w.docker.containers.size).toBe(0);
    expect(w.operations.entries.map((e) => [e.opKind, e.errorCode])).toContainEqual(['start', 'container_start_failed']);
  });
});

describe('reconcile: health followed', () => {
  async function healthyGame(): Promise<{ w: World; id: string }> {
    const w = checkedWorld('healthy');
    const id = (await start(w)).record!.currentContainerId!;
    w.healthEvents.published.length = 0;
    w.telemetry.healthEvents.length = 0;
    return { w, id };
  }
  const events = (w: World) => w.healthEvents.published.map((e) => [e.eventType, e.details]);

  it('turning unhealthy: the record says so and container_unhealthy is published; back to healthy: container_healthy', async () => {
    const { w, id } = await healthyGame();
    w.docker.setHealth(id, 'unhealthy');
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('health_changed');
    expect(await w.records.get('g-1')).toMatchObject({ status: 'running', health: 'unhealthy' });
    expect(events(w)).toEqual([['container_unhealthy', { health: 'unhealthy', previous_health: 'healthy' }]]);
    expect(w.telemetry.healthEvents).toEqual(['container_unhealthy']);

    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('unchanged');
    w.docker.setHealth(id, 'healthy');
    expect(await reconcileAll(w.deps)).toMatchObject({ health_changed: 1 });
    expect(await w.records.get('g-1')).toMatchObject({ health: 'healthy' });
    expect(events(w).map(([type]) => type)).toEqual(['container_unhealthy', 'container_healthy']);
  });

  it('the first healthy of an engine adopted while starting is no news: the record only', async () => {
    const w = world();
    const id = w.docker.addContainer(ownContainer('g-2', { health: 'starting' }));
    await reconcileAll(w.deps);
    expect(await w.records.get('g-2')).toMatchObject({ status: 'running', health: 'starting' });
    w.docker.setHealth(id, 'healthy');
    expect(await reconcileGame(w.deps, 'g-2', null)).toBe('health_changed');
    expect(await w.records.get('g-2')).toMatchObject({ health: 'healthy' });
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_adopted']);
  });

  it('an engine found exited unhealthy (Swarm ends such a task): container_unhealthy, then container_exited', async () => {
    const { w, id } = await healthyGame();
    w.docker.setHealth(id, 'unhealthy');
    w.docker.markExited(id, 137, false);
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('exited');
    expect(w.healthEvents.published.map((e) => e.eventType)).toEqual(['container_unhealthy', 'container_exited']);
    expect(await w.records.get('g-1')).toMatchObject({ status: 'exited', health: 'unhealthy' });
  });

  it('a health write refused for its fence publishes nothing', async () => {
    const { w, id } = await healthyGame();
    w.docker.setHealth(id, 'unhealthy');
    const record = (await w.records.get('g-1'))!;
    await w.records.upsert(record, Number.MAX_SAFE_INTEGER);
    expect(await reconcileGame(w.deps, 'g-1', null)).toBe('skipped_busy');
    expect(w.healthEvents.published).toEqual([]);
    expect(await w.records.get('g-1')).toMatchObject({ health: 'healthy' });
  });
});

describe('healthChangeEvent', () => {
  it.each([
    ['healthy', 'unhealthy', 'container_unhealthy'],
    ['starting', 'unhealthy', 'container_unhealthy'],
    ['none', 'unhealthy', 'container_unhealthy'],
    ['unhealthy', 'healthy', 'container_healthy'],
    ['starting', 'healthy', null],
    ['none', 'healthy', null],
    ['unhealthy', 'unhealthy', null],
    ['healthy', 'starting', null],
  ] as const)('%s → %s: %s', (before, after, event) => {
    expect(healthChangeEvent(before, after)).toBe(event);
  });
});
