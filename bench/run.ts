/**
 * `npm run bench`: the system measured side by side with raw dockerode in one
 * run, on real Redis, Postgres and Docker, with the settings an operator gets
 * (every variable at its default, the Procfile's node flags), each role in a
 * process of its own as the Procfile runs them. Prints a table and writes
 * bench/results/latest.json: every key the issues name, with the commit, the
 * date, the CPU count, the Docker version and the settings (report.ts).
 * Ratios come from pairs whose first side alternates: the median of the
 * paired ratios, the ratio of the medians printed beside it. A part whose
 * requests fail fails the bench. Sizes can be lowered for a quick look
 * (BENCH_LATENCY_GAMES, BENCH_BURST, …); the defaults are the issues'.
 * `RTM_BENCH_ONLY=cold,shared` runs only the parts named (latency, health,
 * burst, storm, reconcile, cold, shared, crash, swarm, swarm_burst, logs,
 * enqueue) and writes bench/results/partial.json instead, so a partial run
 * never stands for a full one. The swarm parts (bench/swarm.ts) run on the
 * swarm manager at RTM_TEST_SWARM_HOST (`scripts/services.sh up --swarm`); a
 * full run without one skips them and says so. Cleans up every container,
 * service and image it made.
 */
import type { Role } from '../test/faults/support.js';
import { faultSystem } from '../test/faults/support.js';
import { removeLocalImage, testRegistry } from '../test/support/registry.js';
import { crashRestartRatio } from './crash-restart.js';
import { ensureWrk } from './enqueue-load.js';
import { enqueuePart } from './enqueue-part.js';
import { healthReadyRatio } from './health-ready.js';
import { logsFollow } from './logs-follow.js';
import { loadServicesEnv, median, peakRss } from './measure.js';
import { rawCreate, rawStateDir, removeRaw } from './raw.js';
import { writeReport } from './report.js';
import { describeSettings, procfileNodeArgs } from './settings.js';
import { burstPart, coldPart, latencyPart, sharedPart } from './start-parts.js';
import { reconcilePart, stormPart } from './storm-reconcile.js';
import type { SwarmBench } from './swarm.js';
import { swarmBench } from './swarm.js';

const N = {
  latency: Number(process.env.BENCH_LATENCY_GAMES ?? 40),
  health: Number(process.env.BENCH_HEALTH_SAMPLES ?? 20),
  crash: Number(process.env.BENCH_CRASH_SAMPLES ?? 20),
  burst: Number(process.env.BENCH_BURST ?? 100),
  // Odd: the system's side goes last, and its containers stay for the reconcile pass.
  burstRounds: Number(process.env.BENCH_BURST_ROUNDS ?? 5),
  stormGames: Number(process.env.BENCH_STORM_GAMES ?? 100),
  stormRequests: Number(process.env.BENCH_STORM_REQUESTS ?? 2000),
  enqueueSeconds: Number(process.env.BENCH_ENQUEUE_SECONDS ?? 10),
  enqueueRounds: Number(process.env.BENCH_ENQUEUE_ROUNDS ?? 3),
  enqueueConnections: Number(process.env.BENCH_ENQUEUE_CONNECTIONS ?? 16),
  intakeFlood: Number(process.env.BENCH_INTAKE_FLOOD ?? 10_000),
  cold: Number(process.env.BENCH_COLD_SAMPLES ?? 10),
  sharedGames: Number(process.env.BENCH_SHARED_GAMES ?? 20),
  sharedRounds: Number(process.env.BENCH_SHARED_ROUNDS ?? 5),
  swarmLatency: Number(process.env.BENCH_SWARM_LATENCY_GAMES ?? 20),
  // 10 at once, 5 rounds each side (as the default engine's burst): about 2 min on a 2-core one-node swarm, of which half is Swarm removing each burst's services.
  swarmBurst: Number(process.env.BENCH_SWARM_BURST ?? 10),
  swarmBurstRounds: Number(process.env.BENCH_SWARM_BURST_ROUNDS ?? 5),
  logsRounds: Number(process.env.BENCH_LOGS_ROUNDS ?? 5),
  // About 9 MB in the json-file log: under the default rotation (max-size 10m).
  logsLines: Number(process.env.BENCH_LOGS_LINES ?? 40_000),
};
const PARTS = ['latency', 'health', 'burst', 'storm', 'reconcile', 'cold', 'shared', 'crash', 'swarm', 'swarm_burst', 'logs', 'enqueue'] as const;
/** The parts that drive the system on the default engine: without any, its processes are not started (crash runs a system of its own). */
const ENGINE_PARTS = ['latency', 'health', 'burst', 'storm', 'reconcile', 'cold', 'shared'] as const;
/** The Procfile's processes, each its own. */
const PROCFILE_ROLES = ['web', 'worker', 'intake'] as const satisfies readonly Role[];
const ONLY = new Set(
  (process.env.RTM_BENCH_ONLY ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);
const unknownParts = [...ONLY].filter((p) => !(PARTS as readonly string[]).includes(p));
if (unknownParts.length) throw new Error(`RTM_BENCH_ONLY: unknown part(s) ${unknownParts.join(', ')}; parts are ${PARTS.join(', ')}`);
const runs = (part: (typeof PARTS)[number]) => ONLY.size === 0 || ONLY.has(part);

async function main(): Promise<void> {
  await loadServicesEnv();
  const results: Record<string, number> = {};
  /** What each system ran with, printed and written beside the figures. */
  const settings: Record<string, string> = {};
  const began = Date.now();
  if (runs('enqueue')) await ensureWrk();
  const pulls = runs('cold') || runs('shared');
  // Registry credentials: where the system finds them, not how it behaves.
  const system = await faultSystem({ defaults: true, env: pulls ? { RTMANAGER_DOCKER_CONFIG: testRegistry().dockerConfigPath } : {} });
  const cleanups: Array<() => Promise<void>> = [];
  let swarm: SwarmBench | null = null;
  /** The cold images pushed; removed once the containers that ran them are gone. */
  const pushed: string[] = [];
  const cleanup = async () => {
    await removeRaw();
    await swarm?.cleanup();
    await system.cleanup();
    for (const c of cleanups) await c().catch((e: unknown) => console.error(`bench cleanup: ${String(e)}`));
    for (const ref of pushed) removeLocalImage(ref);
  };
  const stopSystem = async () => {
    for (const role of PROCFILE_ROLES) await system.kill(role, 'SIGTERM');
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const pids: Partial<Record<Role, number>> = {};
    if (ENGINE_PARTS.some(runs)) {
      for (const role of PROCFILE_ROLES) {
        const nodeArgs = await procfileNodeArgs(role);
        settings[`engine_${role}`] = describeSettings(`${role} (engine parts)`, system.env, nodeArgs);
        console.log(settings[`engine_${role}`]);
        pids[role] = system.start(role, nodeArgs).pid;
      }
      await system.waitReady();
    }
    const watcher = system.redis.duplicate();
    const bench = { system, watcher, pushed };

    if (runs('latency')) results.start_latency_ratio = (await latencyPart(bench, N.latency)).ratio;
    if (runs('health')) {
      // Ready, not only running: an engine healthy at its first probe, raw and through the system, alternately, paired.
      const ready = await healthReadyRatio(system, watcher, N.health, (name, image) => rawCreate(system.networkName, name, image));
      results.health_ready_ratio = ready.ratio;
      console.log(
        `health ready (${N.health} pairs): raw median ${median(ready.rawMs).toFixed(0)} ms, system median ${median(ready.sysMs).toFixed(0)} ms, median of paired ratios ${ready.ratio}`,
      );
    }
    // The worker's memory while it starts bursts and answers the storm.
    const workerRss = peakRss(() => [pids.worker]);
    if (runs('burst')) results.burst_throughput_ratio = (await burstPart(bench, N.burst, N.burstRounds)).ratio;
    if (runs('storm')) Object.assign(results, await stormPart(system, N.stormGames, N.stormRequests));
    if (runs('burst') || runs('storm')) results.rss_mb_worker = workerRss.stop();
    else workerRss.stop();
    if (runs('reconcile')) results.reconcile_ms_200 = await reconcilePart(system);
    if (runs('cold')) results.cold_start_ratio = (await coldPart(bench, N.cold)).ratio;
    if (runs('shared')) results.shared_pull_ratio = (await sharedPart(bench, N.sharedGames, N.sharedRounds)).ratio;
    watcher.disconnect();
    // The parts below run systems of their own: this one's idle processes would share the 2 cores.
    await stopSystem();

    if (runs('crash')) {
      // Exit → running again: the crash policy with backoff 0, on a system of its own with an operator's defaults.
      const crash = await crashRestartRatio(N.crash, { create: rawCreate, stateDir: rawStateDir });
      results.crash_restart_ratio = crash.ratio;
      results.crash_restart_ms = Math.round(median(crash.sysMs));
      console.log(
        `crash restart (${N.crash} pairs, die → start events): raw docker start median ${median(crash.rawMs).toFixed(0)} ms, system median ${median(crash.sysMs).toFixed(0)} ms; median of paired ratios ${crash.ratio}, ratio of medians ${crash.ratioOfMedians}; median paired difference ${crash.differenceMs} ms; system die → container_restarted read, median ${median(crash.toldMs).toFixed(0)} ms; load average ${crash.load}`,
      );
      console.log(`  raw ms: ${crash.rawMs.map((ms) => ms.toFixed(0)).join(' ')}\n  sys ms: ${crash.sysMs.map((ms) => ms.toFixed(0)).join(' ')}`);
    }

    if (runs('swarm') || runs('swarm_burst')) {
      // On a one-node swarm: the system in swarm mode against raw service creates (bench/swarm.ts).
      const host = process.env.RTM_TEST_SWARM_HOST;
      if (!host) {
        if (ONLY.size) throw new Error('RTM_BENCH_ONLY names a swarm part but RTM_TEST_SWARM_HOST is unset (scripts/services.sh up --swarm)');
        console.log('swarm parts skipped: RTM_TEST_SWARM_HOST is unset (scripts/services.sh up --swarm)');
      } else {
        swarm = await swarmBench(host);
        settings.swarm = describeSettings('all (swarm parts)', swarm.env);
        console.log(settings.swarm);
        if (runs('swarm')) results.swarm_start_latency_ratio = await swarm.latency(N.swarmLatency);
        if (runs('swarm_burst')) results.swarm_burst_throughput_ratio = await swarm.burst(N.swarmBurst, N.swarmBurstRounds);
        await swarm.cleanup();
        swarm = null;
      }
    }

    if (runs('logs')) {
      // Following an engine's output through the API against `docker logs -f` at the same time, a paused reader beside them.
      // BENCH_LOGS_LOG_OPTS (say max-size=100m) lets a larger flood stay under one rotation.
      const logsSystem = await faultSystem({
        defaults: true,
        ...(process.env.BENCH_LOGS_LOG_OPTS ? { env: { RTMANAGER_DOCKER_LOG_OPTS: process.env.BENCH_LOGS_LOG_OPTS } } : {}),
      });
      cleanups.push(() => logsSystem.cleanup());
      const flags = await procfileNodeArgs('web');
      const web = logsSystem.start('web', flags);
      logsSystem.start('worker', await procfileNodeArgs('worker'));
      settings.logs = describeSettings('web, worker (logs part)', logsSystem.env, flags);
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
      const sizes = { rounds: N.enqueueRounds, seconds: N.enqueueSeconds, connections: N.enqueueConnections, intakeFlood: N.intakeFlood };
      Object.assign(results, await enqueuePart(sizes, settings, cleanups));
    }
  } finally {
    await cleanup();
  }
  await writeReport(results, settings, ONLY.size > 0, began);
}

await main();
