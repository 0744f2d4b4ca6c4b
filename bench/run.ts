/**
 * `npm run bench`: the system measured side by side with raw dockerode in one
 * run, on real Redis, Postgres and Docker. Prints a table and writes
 * bench/results/latest.json with exactly the keys the issue names. Sizes can
 * be lowered for a quick look (BENCH_LATENCY_GAMES, BENCH_BURST, …); the
 * defaults are the issue's. `RTM_BENCH_ONLY=cold,shared` runs only the parts
 * named (latency, health, burst, storm, reconcile, cold, shared, crash,
 * swarm, swarm_burst, logs, enqueue) and writes bench/results/partial.json instead, so a partial run
 * never stands for a full one. The swarm parts (bench/swarm.ts) run on the
 * swarm manager at RTM_TEST_SWARM_HOST (`scripts/services.sh up --swarm`); a
 * full run without one skips them and says so. Cleans up every container,
 * service and image it made.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
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
import { docker, faultSystem } from '../test/faults/support.js';
import { CRASH_POLICY_OFF, RecordingLogger, RecordingTelemetry } from '../test/fakes/support.js';
import { pushEngineImage, removeLocalImage, testRegistry } from '../test/support/registry.js';
import { testConfig } from '../test/support/test-config.js';
import { enqueueLoad, enqueueRatios, ensureWrk, floorLoad } from './enqueue-load.js';
import { crashRestartRatio } from './crash-restart.js';
import { healthReadyRatio } from './health-ready.js';
import { logsFollow } from './logs-follow.js';
import { loadServicesEnv, median, systemStart, timedStart as timed, waitRunning } from './measure.js';
import type { SwarmBench } from './swarm.js';
import { swarmBench } from './swarm.js';

const IMAGE = 'galaxy-test-engine:labelled';
const N = {
  latency: Number(process.env.BENCH_LATENCY_GAMES ?? 40),
  health: Number(process.env.BENCH_HEALTH_SAMPLES ?? 20),
  crash: Number(process.env.BENCH_CRASH_SAMPLES ?? 20),
  burst: Number(process.env.BENCH_BURST ?? 100),
  stormGames: Number(process.env.BENCH_STORM_GAMES ?? 100),
  stormRequests: Number(process.env.BENCH_STORM_REQUESTS ?? 2000),
  enqueueSeconds: Number(process.env.BENCH_ENQUEUE_SECONDS ?? 10),
  enqueueConnections: Number(process.env.BENCH_ENQUEUE_CONNECTIONS ?? 16),
  cold: Number(process.env.BENCH_COLD_SAMPLES ?? 10),
  sharedGames: Number(process.env.BENCH_SHARED_GAMES ?? 20),
  sharedRounds: Number(process.env.BENCH_SHARED_ROUNDS ?? 3),
  swarmLatency: Number(process.env.BENCH_SWARM_LATENCY_GAMES ?? 20),
  // 10 at once, 3 rounds each side: about 75 s on a 2-core one-node swarm, of which half is Swarm removing each burst's services.
  swarmBurst: Number(process.env.BENCH_SWARM_BURST ?? 10),
  swarmBurstRounds: Number(process.env.BENCH_SWARM_BURST_ROUNDS ?? 3),
  logsRounds: Number(process.env.BENCH_LOGS_ROUNDS ?? 5),
  // About 9 MB in the json-file log: under the default rotation (max-size 10m).
  logsLines: Number(process.env.BENCH_LOGS_LINES ?? 40_000),
};
/** The unique layer of each cold image: it is what a cold start downloads. */
const COLD_LAYER_BYTES = 20 * 1024 * 1024;
const PARTS = ['latency', 'health', 'burst', 'storm', 'reconcile', 'cold', 'shared', 'crash', 'swarm', 'swarm_burst', 'logs', 'enqueue'] as const;
/** The parts that drive the system on the default engine: without any, its processes are not started (crash runs a system of its own). */
const ENGINE_PARTS = ['latency', 'health', 'burst', 'storm', 'reconcile', 'cold', 'shared'] as const;
const ONLY = new Set(
  (process.env.RTM_BENCH_ONLY ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);
const unknownParts = [...ONLY].filter((p) => !(PARTS as readonly string[]).includes(p));
if (unknownParts.length) throw new Error(`RTM_BENCH_ONLY: unknown part(s) ${unknownParts.join(', ')}; parts are ${PARTS.join(', ')}`);
const runs = (part: (typeof PARTS)[number]) => ONLY.size === 0 || ONLY.has(part);
/** V8 heap caps for the second, memory-bounded enqueue run. */
const CAPPED_HEAP = ['--max-semi-space-size=16', '--max-old-space-size=96'];

/** Where the raw baseline's containers keep their state directories. */
const RAW_STATE_ROOT = path.join(tmpdir(), 'rtm-bench-raw-state');
const rawStateDir = (name: string) => path.join(RAW_STATE_ROOT, name);

/** The raw baseline: what the manager does to Docker (hardened as contract §12 says), without the manager. */
async function rawStart(network: string, name: string, image = IMAGE): Promise<Dockerode.Container> {
  const container = await rawCreate(network, name, image);
  await container.start();
  return container;
}

async function rawCreate(network: string, name: string, image: string): Promise<Dockerode.Container> {
  // Its own state directory, bind-mounted where the manager mounts a game's: the same work for the daemon.
  const state = rawStateDir(name);
  await mkdir(state, { recursive: true, mode: 0o750 });
  return docker.createContainer({
    name,
    Hostname: name,
    Image: image,
    Labels: { 'com.galaxy.test': '1', 'com.galaxy.bench': 'raw' },
    Env: ['GALAXY_ENGINE_STATE_DIR=/var/lib/galaxy/engine', 'STORAGE_PATH=/var/lib/galaxy/engine'],
    HostConfig: {
      NetworkMode: network,
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      PidsLimit: 64,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${64 * 1024 * 1024}` },
      MemorySwap: 64 * 1024 * 1024,
      Init: true,
      Mounts: [{ Type: 'bind', Source: state, Target: '/var/lib/galaxy/engine', ReadOnly: false }],
    },
    NetworkingConfig: { EndpointsConfig: { [network]: {} } },
  });
}

async function removeRaw(): Promise<void> {
  const raw = await docker.listContainers({ all: true, filters: { label: ['com.galaxy.bench=raw'] } });
  await Promise.all(
    raw.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await rm(RAW_STATE_ROOT, { recursive: true, force: true });
}

/** The raw baseline of a cold start: `docker pull` with the registry's credentials, to its last progress line. */
async function rawPull(ref: string): Promise<void> {
  const registry = testRegistry();
  const stream = await docker.pull(ref, { authconfig: { username: registry.user, password: registry.password, serveraddress: registry.host } });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
      const failed = events.find((e) => e.error);
      if (error ?? failed) reject(error ?? new Error(failed?.error));
      else resolve();
    });
  });
}

/** A fresh engine image in the test registry, not local: a start of it pulls its unique layer. */
function coldImage(pushed: string[]): string {
  const { ref } = pushEngineImage({ layerBytes: COLD_LAYER_BYTES });
  pushed.push(ref);
  return ref;
}

async function main(): Promise<void> {
  await loadServicesEnv();
  const results: Record<string, number> = {};
  const began = Date.now();
  if (runs('enqueue')) await ensureWrk();
  const pulls = runs('cold') || runs('shared');
  const system = await faultSystem({
    env: {
      RTMANAGER_WORKER_CONCURRENCY: '100',
      RTMANAGER_JOB_LOCK_MS: '30000',
      ...(pulls ? { RTMANAGER_DOCKER_CONFIG: testRegistry().dockerConfigPath } : {}),
    },
  });
  const extraSystems: FaultSystem[] = [];
  let swarm: SwarmBench | null = null;
  /** The cold images pushed; removed once the containers that ran them are gone. */
  const pushed: string[] = [];
  const cleanup = async () => {
    await removeRaw();
    await swarm?.cleanup();
    await system.cleanup();
    for (const s of extraSystems) await s.cleanup();
    for (const ref of pushed) removeLocalImage(ref);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    if (ENGINE_PARTS.some(runs)) {
      system.start('all');
      await system.waitReady();
    }
    const watcher = system.redis.duplicate();
    const timedStart = (gameId: string, image = IMAGE) => timed(system, watcher, gameId, image);

    if (runs('latency')) {
      // 1. Start latency, alternately raw and through the system.
      const raw: number[] = [];
      const sys: number[] = [];
      for (let i = 0; i < N.latency; i++) {
        const t = performance.now();
        const c = await rawStart(system.networkName, `bench-raw-${system.run}-${i}`);
        raw.push(performance.now() - t);
        await c.remove({ force: true });
        sys.push(await timedStart(system.gameId(`lat${i}`)));
      }
      results.start_latency_ratio = +(median(sys) / median(raw)).toFixed(3);
      console.log(`latency: raw median ${median(raw).toFixed(0)} ms, system median ${median(sys).toFixed(0)} ms`);
    }

    if (runs('health')) {
      // 1b. Ready, not only running: an engine healthy at its first probe, raw and through the system, alternately, paired.
      const ready = await healthReadyRatio(system, watcher, N.health, (name, image) => rawCreate(system.networkName, name, image));
      results.health_ready_ratio = ready.ratio;
      console.log(
        `health ready (${N.health} pairs): raw median ${median(ready.rawMs).toFixed(0)} ms, system median ${median(ready.sysMs).toFixed(0)} ms, median of paired ratios ${ready.ratio}`,
      );
    }

    if (runs('burst')) {
      // 2. Burst: N at once, raw then system.
      const t0 = performance.now();
      await Promise.all(Array.from({ length: N.burst }, (_, i) => rawStart(system.networkName, `bench-burst-${system.run}-${i}`)));
      const rawBurstMs = performance.now() - t0;
      await removeRaw();
      const burstGames = Array.from({ length: N.burst }, (_, i) => system.gameId(`burst${i}`));
      const t1 = performance.now();
      await Promise.all(burstGames.map((g) => systemStart(system, g, IMAGE)));
      await waitRunning(system, burstGames, 600_000);
      const sysBurstMs = performance.now() - t1;
      results.burst_throughput_ratio = +(rawBurstMs / sysBurstMs).toFixed(3);
      console.log(`burst: raw ${rawBurstMs.toFixed(0)} ms, system ${sysBurstMs.toFixed(0)} ms for ${N.burst}`);
    }

    if (runs('storm')) {
      // 3. Storm: many requests for few games, over HTTP and the stream at once.
      const stormGames = Array.from({ length: N.stormGames }, (_, i) => system.gameId(`storm${i}`));
      let errors = 0;
      let next = 0;
      const stream = `${system.run}:start_jobs`;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < N.stormRequests) {
            const i = next++;
            const gameId = stormGames[i % stormGames.length]!;
            if (i % 2 === 0) {
              const status = await systemStart(system, gameId, IMAGE).catch(() => 0);
              if (status !== 202 && status !== 200) errors += 1;
            } else {
              await system.redis.xadd(stream, '*', 'game_id', gameId, 'image_ref', IMAGE, 'request_id', `storm-${i}`);
            }
          }
        }),
      );
      await waitRunning(system, stormGames, 600_000).catch(() => undefined);
      const stormRecords = await Promise.all(stormGames.map((g) => system.records.get(g)));
      errors += stormRecords.filter((r) => r?.status !== 'running').length;
      const stormContainers = (
        await Promise.all(stormGames.map((g) => docker.listContainers({ all: true, filters: { label: [`com.galaxy.game_id=${g}`] } })))
      ).flat();
      results.storm_games = stormGames.length;
      results.storm_containers = stormContainers.length;
      results.storm_errors = errors;
    }

    if (runs('reconcile')) {
      // 4. One reconciler pass over the burst's and the storm's containers.
      const engine = new ContainerEngine({ docker });
      const deps: LifecycleDeps = {
        records: system.records,
        operations: system.operations,
        docker: engine,
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
      results.reconcile_ms_200 = Math.round(performance.now() - t);
      console.log(`reconcile: ${JSON.stringify(summary)}`);
    }

    if (runs('cold')) {
      // 5. Cold start: an image that is not local, pulled from the registry
      // (its own 20 MB layer), alternately raw (docker pull, create, start)
      // and through the system.
      const raw: number[] = [];
      const sys: number[] = [];
      for (let i = 0; i < N.cold; i++) {
        const rawImage = coldImage(pushed);
        const t = performance.now();
        await rawPull(rawImage);
        const c = await rawStart(system.networkName, `bench-cold-${system.run}-${i}`, rawImage);
        raw.push(performance.now() - t);
        await c.remove({ force: true });
        sys.push(await timedStart(system.gameId(`cold${i}`), coldImage(pushed)));
      }
      results.cold_start_ratio = +(median(sys) / median(raw)).toFixed(3);
      console.log(`cold start (${COLD_LAYER_BYTES >> 20} MB layer): raw median ${median(raw).toFixed(0)} ms, system median ${median(sys).toFixed(0)} ms`);
    }

    if (runs('shared')) {
      // 6. Many games on one cold image at once: one raw pull then the raw
      // starts all at once, against the system's starts all at once (which
      // share one pull). Each round leaves no container behind, so the
      // next one meets the same daemon.
      const raw: number[] = [];
      const sys: number[] = [];
      for (let round = 0; round < N.sharedRounds; round++) {
        const rawImage = coldImage(pushed);
        let t = performance.now();
        await rawPull(rawImage);
        await Promise.all(Array.from({ length: N.sharedGames }, (_, i) => rawStart(system.networkName, `bench-shared-${system.run}-${round}-${i}`, rawImage)));
        raw.push(performance.now() - t);
        await removeRaw();
        const sysImage = coldImage(pushed);
        const games = Array.from({ length: N.sharedGames }, (_, i) => system.gameId(`shared${round}x${i}`));
        t = performance.now();
        if ((await Promise.all(games.map((g) => systemStart(system, g, sysImage)))).some((status) => status !== 202)) throw new Error('start refused');
        await waitRunning(system, games, 600_000);
        sys.push(performance.now() - t);
        const ours = await docker.listContainers({ all: true, filters: { name: [`galaxy-game-${system.gameId(`shared${round}x`)}`] } });
        await Promise.all(ours.map((c) => docker.getContainer(c.Id).remove({ force: true })));
        // The system hears of the removals (events, reconciliation): let that pass before the next round measures.
        await new Promise((r) => setTimeout(r, 3_000));
      }
      results.shared_pull_ratio = +(median(sys) / median(raw)).toFixed(3);
      console.log(
        `shared pull (${N.sharedGames} games, ${N.sharedRounds} rounds): raw median ${median(raw).toFixed(0)} ms, system median ${median(sys).toFixed(0)} ms`,
      );
    }
    watcher.disconnect();

    if (runs('crash')) {
      // 6b. Exit → running again: the crash policy with backoff 0, on a system of its own with an operator's defaults,
      // against a raw `docker start` of the exited container. The system above stops first: its idle processes would share the 2 cores.
      await system.kill('all', 'SIGTERM');
      const crash = await crashRestartRatio(N.crash, { create: rawCreate, stateDir: rawStateDir });
      results.crash_restart_ratio = crash.ratio;
      results.crash_restart_ms = Math.round(median(crash.sysMs));
      console.log(
        `crash restart (${N.crash} pairs, die → start events): raw docker start median ${median(crash.rawMs).toFixed(0)} ms, system median ${median(crash.sysMs).toFixed(0)} ms; median of paired ratios ${crash.ratio}, ratio of medians ${crash.ratioOfMedians}; median paired difference ${crash.differenceMs} ms; system die → container_restarted read, median ${median(crash.toldMs).toFixed(0)} ms; load average ${crash.load}`,
      );
      console.log(`  raw ms: ${crash.rawMs.map((ms) => ms.toFixed(0)).join(' ')}\n  sys ms: ${crash.sysMs.map((ms) => ms.toFixed(0)).join(' ')}`);
    }

    if (runs('swarm') || runs('swarm_burst')) {
      // 7. On a one-node swarm: the system in swarm mode against raw service creates (bench/swarm.ts).
      const host = process.env.RTM_TEST_SWARM_HOST;
      if (!host) {
        if (ONLY.size) throw new Error('RTM_BENCH_ONLY names a swarm part but RTM_TEST_SWARM_HOST is unset (scripts/services.sh up --swarm)');
        console.log('swarm parts skipped: RTM_TEST_SWARM_HOST is unset (scripts/services.sh up --swarm)');
      } else {
        // The system of the parts above stops first: its idle processes would share the 2 cores.
        await system.kill('all', 'SIGTERM');
        swarm = await swarmBench(host);
        if (runs('swarm')) results.swarm_start_latency_ratio = await swarm.latency(N.swarmLatency);
        if (runs('swarm_burst')) results.swarm_burst_throughput_ratio = await swarm.burst(N.swarmBurst, N.swarmBurstRounds);
        await swarm.cleanup();
        swarm = null;
      }
    }

    if (runs('logs')) {
      // 7b. Following an engine's output through the API against `docker logs -f` at the same time, a paused reader beside them.
      // The system of the parts above stops first: its idle processes would share the 2 cores.
      await system.kill('all', 'SIGTERM');
      // BENCH_LOGS_LOG_OPTS (say max-size=100m) lets a larger flood stay under one rotation.
      const logsSystem = await faultSystem(process.env.BENCH_LOGS_LOG_OPTS ? { env: { RTMANAGER_DOCKER_LOG_OPTS: process.env.BENCH_LOGS_LOG_OPTS } } : {});
      extraSystems.push(logsSystem);
      const web = logsSystem.start('web');
      logsSystem.start('worker');
      await logsSystem.waitReady();
      const logs = await logsFollow(logsSystem, web, N.logsRounds, N.logsLines);
      results.logs_follow_ratio = logs.ratio;
      results.logs_slow_reader_rss_mb = logs.rssMb;
      console.log(
        `logs follow (${N.logsLines} lines a round, ${N.logsRounds} rounds): docker logs -f / API ms ${logs.rounds.map((r) => `${r.rawMs}/${r.apiMs}`).join(' ')}; ratios ${logs.rounds.map((r) => r.ratio).join(' ')}; web CPU ms ${logs.rounds.map((r) => r.webCpuMs).join(' ')}; web grew ${logs.rssMb} MB with a paused reader`,
      );
      await logsSystem.kill('web', 'SIGTERM');
      await logsSystem.kill('worker', 'SIGTERM');
    }

    if (runs('enqueue')) {
      // 8. Enqueue load on a web process with no worker: no container per request.
      // The system under the earlier parts stops first: its idle process would share the 2 cores.
      await system.kill('all', 'SIGTERM');
      const webOnly = await faultSystem();
      const webCapped = await faultSystem({ nodeArgs: CAPPED_HEAP });
      extraSystems.push(webOnly, webCapped);
      webOnly.start('web');
      await webOnly.waitReady();
      await enqueueLoad(webOnly, 2, N.enqueueConnections); // warm-up: JIT, pools
      const load = await enqueueLoad(webOnly, N.enqueueSeconds, N.enqueueConnections);
      results.enqueue_rps = load.rps;
      results.enqueue_p99_ms = load.p99Ms;
      results.rss_mb_max = load.rssMbMax;
      console.log(
        `enqueue (${load.tool}, ${N.enqueueConnections} connections, ${N.enqueueSeconds} s): ${load.total} requests, p50 ${load.p50Ms} ms, ${load.non2xx} non-2xx, ${load.errors} errors`,
      );
      await webOnly.kill('web', 'SIGTERM');
      // The same load at the floor (a bare handler: read the body, one SET on the same Redis): the ratios travel between runs.
      const floor = await floorLoad(webOnly, N.enqueueSeconds, N.enqueueConnections);
      Object.assign(results, enqueueRatios(load, floor));
      console.log(
        `enqueue floor (${floor.tool}, same load): ${floor.rps} req/s, p50 ${floor.p50Ms} ms, p99 ${floor.p99Ms} ms, ${floor.non2xx} non-2xx, ${floor.errors} errors`,
      );
      // The same load on a web process with a capped V8 heap: the memory/latency trade, measured, not shipped.
      webCapped.start('web');
      await webCapped.waitReady();
      await enqueueLoad(webCapped, 2, N.enqueueConnections);
      const capped = await enqueueLoad(webCapped, N.enqueueSeconds, N.enqueueConnections);
      console.log(`enqueue with ${CAPPED_HEAP.join(' ')}: ${capped.rps} req/s, p99 ${capped.p99Ms} ms, rss max ${capped.rssMbMax} MB`);
    }
  } finally {
    await cleanup();
  }

  const ordered = [
    'start_latency_ratio',
    'health_ready_ratio',
    'crash_restart_ratio',
    'crash_restart_ms',
    'burst_throughput_ratio',
    'cold_start_ratio',
    'shared_pull_ratio',
    'swarm_start_latency_ratio',
    'swarm_burst_throughput_ratio',
    'logs_follow_ratio',
    'logs_slow_reader_rss_mb',
    'enqueue_rps',
    'enqueue_p99_ms',
    'enqueue_floor_rps',
    'enqueue_ratio',
    'enqueue_p99_ratio',
    'storm_games',
    'storm_containers',
    'storm_errors',
    'reconcile_ms_200',
    'rss_mb_max',
  ];
  const latest = Object.fromEntries(ordered.map((k) => [k, results[k] ?? null]));
  const file = ONLY.size ? 'bench/results/partial.json' : 'bench/results/latest.json';
  await mkdir('bench/results', { recursive: true });
  await writeFile(file, `${JSON.stringify(latest, null, 2)}\n`);
  const goals: Record<string, string> = {
    start_latency_ratio: '≤ 1.05',
    health_ready_ratio: '≤ 1.10',
    crash_restart_ratio: '≤ 1.5',
    crash_restart_ms: '(median, system side)',
    burst_throughput_ratio: '≥ 0.90',
    cold_start_ratio: '≤ 1.10',
    shared_pull_ratio: '≤ 1.10',
    swarm_start_latency_ratio: '≤ 1.10',
    swarm_burst_throughput_ratio: '≥ 0.90',
    logs_follow_ratio: '≥ 0.90',
    logs_slow_reader_rss_mb: '≤ 20',
    enqueue_rps: '≥ 5000',
    enqueue_p99_ms: '≤ 10',
    enqueue_floor_rps: '(the floor, this run)',
    enqueue_ratio: '≥ 0.50',
    enqueue_p99_ratio: '≤ 2.0',
    storm_games: '',
    storm_containers: '= storm_games',
    storm_errors: '0',
    reconcile_ms_200: '≤ 1000',
    rss_mb_max: '≤ 150',
  };
  console.log('\nmetric                         value      goal');
  for (const k of ordered) console.log(`${k.padEnd(30)} ${String(latest[k]).padEnd(10)} ${goals[k]}`);
  console.log(`\nbench took ${Math.round((Date.now() - began) / 1000)} s; written to ${file}`);
}

await main();
