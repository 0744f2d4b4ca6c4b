/**
 * The storm (many requests for few games, over HTTP and the start stream at
 * once: one container a game, every request answered) and one reconciler
 * pass over the containers the burst and the storm left.
 */
import { randomBytes } from 'node:crypto';
import { lifecycleSettings } from '../src/composition/settings.js';
import type { LifecycleDeps } from '../src/domain/lifecycle.js';
import { reconcileAll } from '../src/domain/reconcile.js';
import { PostgresHealthSnapshots } from '../src/infra/db/postgres-health-snapshots.js';
import { ContainerEngine } from '../src/infra/docker/container-engine.js';
import { FsStateDirectories } from '../src/infra/fs/state-directories.js';
import { RedisGameLeases } from '../src/infra/redis/game-leases.js';
import { RedisHealthEvents } from '../src/infra/redis/health-events.js';
import { RedisNotifications } from '../src/infra/redis/notifications.js';
import type { FaultSystem } from '../test/faults/support.js';
import { docker } from '../test/faults/support.js';
import { CRASH_POLICY_OFF, RecordingLogger, RecordingTelemetry } from '../test/fakes/support.js';
import { testConfig } from '../test/support/test-config.js';
import { systemStart, waitRunning } from './measure.js';
import { IMAGE } from './raw.js';

/** Half the requests over HTTP, half on the stream, 64 at a time; fails on any request not answered 200/202 or game not running. */
export async function stormPart(system: FaultSystem, games: number, requests: number) {
  const stormGames = Array.from({ length: games }, (_, i) => system.gameId(`storm${i}`));
  const refused: number[] = [];
  let next = 0;
  const stream = system.env.RTMANAGER_START_JOBS_STREAM!;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < requests) {
        const i = next++;
        const gameId = stormGames[i % stormGames.length]!;
        if (i % 2 === 0) {
          const status = await systemStart(system, gameId, IMAGE).catch(() => 0);
          if (status !== 202 && status !== 200) refused.push(status);
        } else {
          await system.redis.xadd(stream, '*', 'game_id', gameId, 'image_ref', IMAGE, 'request_id', `storm-${i}`);
        }
      }
    }),
  );
  await waitRunning(system, stormGames, 600_000);
  const containers = (await Promise.all(stormGames.map((g) => docker.listContainers({ all: true, filters: { label: [`com.galaxy.game_id=${g}`] } })))).flat();
  if (refused.length) throw new Error(`storm: ${refused.length} requests failed (${[...new Set(refused)].join(', ')})`);
  return { storm_games: stormGames.length, storm_containers: containers.length, storm_errors: refused.length };
}

/** One reconcile pass, in this process, over the system's records and containers (no pull). */
export async function reconcilePart(system: FaultSystem): Promise<number> {
  const deps: LifecycleDeps = {
    records: system.records,
    operations: system.operations,
    docker: new ContainerEngine({ docker }),
    leases: new RedisGameLeases({ redis: system.redis, prefix: `${system.run}:bench:` }),
    healthEvents: new RedisHealthEvents({
      redis: system.redis,
      stream: `${system.run}:bench-health`,
      snapshots: new PostgresHealthSnapshots(system.database.db),
    }),
    notifications: new RedisNotifications({ redis: system.redis, stream: `${system.run}:bench-intents` }),
    crashRestarts: CRASH_POLICY_OFF,
    stateDirs: new FsStateDirectories({ root: '/tmp', mode: 0o750, uid: 0, gid: 0 }),
    telemetry: new RecordingTelemetry(),
    logger: new RecordingLogger(),
    clock: { now: () => new Date() },
    newToken: () => randomBytes(16).toString('base64url'),
    // The reconciler reads only what the system's own configuration gives it (RTMANAGER_DOCKER_PULL_POLICY=never: no pull).
    settings: lifecycleSettings(testConfig({ RTMANAGER_DOCKER_NETWORK: system.networkName, RTMANAGER_DOCKER_PULL_POLICY: 'never' })),
  };
  const t = performance.now();
  const summary = await reconcileAll(deps);
  const ms = Math.round(performance.now() - t);
  console.log(`reconcile: ${ms} ms, ${JSON.stringify(summary)}`);
  return ms;
}
