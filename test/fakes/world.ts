import { lifecycleSettings } from '../../src/composition/settings.js';
import type { LifecycleDeps } from '../../src/domain/lifecycle.js';
import type { EffectiveLimits } from '../../src/domain/engine-port.js';
import { FakeDockerEngine, fakeDigest } from '../fakes/fake-docker-engine.js';
import { InMemoryGameLeases } from '../fakes/in-memory-game-leases.js';
import { InMemoryOperationLog } from '../fakes/in-memory-operation-log.js';
import { InMemoryRuntimeRecordStore } from '../fakes/in-memory-runtime-record-store.js';
import { RecordingHealthEvents } from '../fakes/recording-health-events.js';
import { RecordingNotifications } from '../fakes/recording-notifications.js';
import { TimedCrashRestarts } from '../fakes/timed-crash-restarts.js';
import { FakeStateDirectories, ManualClock, RecordingLogger, RecordingTelemetry } from '../fakes/support.js';
import { testConfig } from '../support/test-config.js';

/** A whole domain world in memory: every port faked, settings as configured by default. */
export const IMAGE = 'registry.galaxy.test/engines/galaxy:1.4.2';
export const OTHER_IMAGE = 'registry.galaxy.test/engines/galaxy:1.5.0';
export const NETWORK = 'galaxy-engines';
/** What a container of IMAGE gets from its labels. */
export const IMAGE_LIMITS: EffectiveLimits = { cpuQuota: 2, memoryBytes: 1024 ** 3, pidsLimit: 512 };

export function world() {
  const clock = new ManualClock();
  const docker = new FakeDockerEngine(clock);
  docker.networks.add(NETWORK);
  docker.images.set(IMAGE, { 'com.galaxy.cpu_quota': '2', 'com.galaxy.memory': '1g', 'com.galaxy.pids_limit': '512' });
  const records = new InMemoryRuntimeRecordStore();
  const operations = new InMemoryOperationLog();
  const leases = new InMemoryGameLeases(clock);
  const healthEvents = new RecordingHealthEvents();
  const notifications = new RecordingNotifications();
  const crashRestarts = new TimedCrashRestarts();
  const stateDirs = new FakeStateDirectories('/srv/game-state');
  const telemetry = new RecordingTelemetry();
  const logger = new RecordingLogger();
  let tokens = 0;
  const deps: LifecycleDeps = {
    records,
    operations,
    docker,
    leases,
    healthEvents,
    notifications,
    crashRestarts,
    stateDirs,
    telemetry,
    logger,
    clock,
    newToken: () => `token-${++tokens}`,
    // The CPU ceiling is pinned: its default is the host's CPU count, and IMAGE asks for 2.
    settings: lifecycleSettings(testConfig({ RTMANAGER_DOCKER_NETWORK: NETWORK, RTMANAGER_CONTAINER_MAX_CPU_QUOTA: '4' })),
  };
  return { deps, clock, docker, records, operations, leases, healthEvents, notifications, crashRestarts, stateDirs, telemetry, logger };
}

export type World = ReturnType<typeof world>;

/** A container of ours under the game's name, as the daemon reports it (override any field). */
export function ownContainer(gameId: string, over: Partial<Parameters<World['docker']['addContainer']>[0]> = {}) {
  return {
    name: `galaxy-game-${gameId}`,
    image: IMAGE,
    imageId: fakeDigest(IMAGE),
    labels: { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': gameId, 'com.galaxy.engine_image_ref': IMAGE },
    state: 'running',
    running: true,
    exitCode: null,
    oomKilled: false,
    startedAt: new Date('2026-11-25T10:00:00Z'),
    finishedAt: null,
    effective: IMAGE_LIMITS,
    ...over,
  };
}
