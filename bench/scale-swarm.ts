/**
 * `swarm_reconcile_ms_200` of the scale bench: `services` games started
 * through the system on the one-node swarm at RTM_TEST_SWARM_HOST, then the
 * median of the worker's next three scheduled reconcile passes over them,
 * timed inside the worker. The operator's defaults but two: the engines' limits are small
 * and not reserved (RTMANAGER_SWARM_RESERVE_LIMITS=false), or a 2-core node
 * would place a handful of them. Swarm removes a service in seconds here:
 * the clean-up removes a few at a time and waits until their containers are
 * gone.
 */
import { procfileNodeArgs } from './settings.js';
import { randomUUID } from 'node:crypto';
import { dockerFromHost } from '../src/infra/docker/daemon-client.js';
import { TEST_LABEL } from '../test/support/services.js';
import { median, systemStart, waitRunning } from './measure.js';
import { configOf, operatorSystem, reconcilePasses, settingsOf } from './scale-system.js';
import { removeNetwork, removeServices } from './swarm.js';

const IMAGE = 'galaxy-test-engine:plain';
const START_CONCURRENCY = 20;
const REMOVE_CONCURRENCY = 8;
const GONE_DEADLINE_MS = 600_000;

export async function swarmReconcile(host: string, services: number): Promise<{ ms: number; settings: Record<string, string | number> }> {
  const engine = dockerFromHost(host);
  const networkName = `rtm-scale-${randomUUID().slice(0, 6)}`;
  await engine.createNetwork({ Name: networkName, Driver: 'overlay', Attachable: true, Labels: { ...TEST_LABEL } });
  const system = await operatorSystem('swarm scale', {
    RTMANAGER_RUNTIME_BACKEND: 'swarm',
    RTMANAGER_DOCKER_HOST: host,
    RTMANAGER_DOCKER_NETWORK: networkName,
    RTMANAGER_SWARM_RESERVE_LIMITS: 'false',
    RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '0.05',
    RTMANAGER_CONTAINER_DEFAULT_MEMORY: '32m',
    RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: '64',
  });
  const label = `com.galaxy.test_run=${system.run}`;
  const cleanup = async () => {
    await system.kill('all', 'SIGKILL');
    await system.kill('worker', 'SIGKILL');
    await system.kill('web', 'SIGKILL');
    await removeServices(engine, label, { concurrency: REMOVE_CONCURRENCY, goneMs: GONE_DEADLINE_MS }).catch((e: unknown) =>
      console.error(`swarm scale cleanup: ${String(e)}`),
    );
    await removeNetwork(engine, networkName);
    await system.cleanup();
  };
  const stop = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    const settings = settingsOf(system);
    console.log('settings (swarm):', settings);
    system.start('web', await procfileNodeArgs('web'));
    system.start('worker', await procfileNodeArgs('worker'));
    await system.waitReady();
    const games = Array.from({ length: services }, (_, i) => system.gameId(`sw${String(i).padStart(4, '0')}`));
    const t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: START_CONCURRENCY }, async () => {
        while (next < games.length) {
          const g = games[next++]!;
          const status = await systemStart(system, g, IMAGE);
          if (status !== 202) throw new Error(`start of ${g} answered ${status}`);
        }
      }),
    );
    await waitRunning(system, games, 1_200_000);
    console.log(`swarm: ${services} services started through the API in ${Math.round((performance.now() - t) / 1000)} s`);
    const interval = configOf(system).reconcileIntervalMs;
    const passes = await reconcilePasses(system, 3, (s) => s.containers >= services && s.runningRecords === services, 3 * interval + 120_000);
    console.log(`swarm reconcile passes (worker's, interval ${interval} ms): ${passes.map((p) => JSON.stringify(p)).join('\n  ')}`);
    return { ms: median(passes.map((p) => p.durationMs)), settings };
  } finally {
    process.removeListener('SIGINT', stop);
    const t = performance.now();
    await cleanup();
    console.log(`swarm: clean-up took ${Math.round((performance.now() - t) / 1000)} s`);
  }
}
