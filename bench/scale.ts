/**
 * `npm run bench:scale` (issue 23, not in CI): the system with the
 * operator's defaults (bench/scale-system.ts) under 10,000 records and 500
 * running engines on one daemon, then 200 services on the one-node swarm
 * (bench/scale-swarm.ts). Writes bench/results/scale.json. Sizes:
 * BENCH_SCALE_ENGINES [500; 0 skips the part] engines started through the API,
 * BENCH_SCALE_RECORDS [10000] records in all (the rest written straight to
 * Postgres, stopped, as a stop leaves them), BENCH_SCALE_SWARM_SERVICES
 * [200; 0 skips the swarm part]. Everything it made is removed on the way out, Ctrl-C included.
 */
import { procfileNodeArgs } from './settings.js';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { and, count, eq, inArray } from 'drizzle-orm';
import { runtimeRecords } from '../src/infra/db/schema.js';
import type { FaultSystem } from '../test/faults/support.js';
import { docker } from '../test/faults/support.js';
import { cpuMs, residentBytes } from '../test/support/process-probes.js';
import { loadServicesEnv, median, systemStart, waitRunning } from './measure.js';
import type { Pass } from './scale-system.js';
import { configOf, operatorSystem, reconcilePasses, settingsOf } from './scale-system.js';
import { swarmReconcile } from './scale-swarm.js';
import { removeNetwork } from './swarm.js';

const IMAGE = 'galaxy-test-engine:labelled';
const N = {
  engines: Number(process.env.BENCH_SCALE_ENGINES ?? 500),
  records: Number(process.env.BENCH_SCALE_RECORDS ?? 10_000),
  swarmServices: Number(process.env.BENCH_SCALE_SWARM_SERVICES ?? 200),
};
/** Start requests in flight at once: the worker's own concurrency bounds the Docker work behind them. */
const START_CONCURRENCY = 32;
const PAGE_LIMIT = 100;
/** Full walks through every record, after one not counted (it warms the pool and the plans). */
const PAGE_WALKS = 3;
/** The worker's scheduled passes read: the median is the figure (the first may meet the start wave's last writes). */
const PASSES = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(items: T[], size: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

/** The engines started through the API, bounded; every answer must be 202. */
async function startEngines(system: FaultSystem, games: string[]): Promise<number> {
  const t = performance.now();
  await inBatches(games, START_CONCURRENCY, async (g) => {
    const status = await systemStart(system, g, IMAGE);
    if (status !== 202) throw new Error(`start of ${g} answered ${status}`);
  });
  await waitRunning(system, games, 1_200_000);
  return performance.now() - t;
}

/** Records of games started and stopped long ago (as stop.ts leaves them), written straight to Postgres. */
async function insertStopped(system: FaultSystem, n: number): Promise<void> {
  const at = new Date(Date.now() - 86_400_000);
  const rows = Array.from({ length: n }, (_, i) => {
    const gameId = system.gameId(`idle${String(i).padStart(5, '0')}`);
    return {
      gameId,
      status: 'stopped',
      currentContainerId: null,
      currentImageRef: IMAGE,
      engineEndpoint: `http://galaxy-game-${gameId}:8080`,
      statePath: `/var/lib/galaxy/games/${gameId}`,
      dockerNetwork: system.networkName,
      startedAt: at,
      stoppedAt: at,
      lastOpAt: at,
      createdAt: at,
      currentImageDigest: null,
      health: 'none',
      lastExitCode: 0,
    };
  });
  for (let i = 0; i < rows.length; i += 1000) await system.database.db.insert(runtimeRecords).values(rows.slice(i, i + 1000));
}

/**
 * Each page's time, walking `GET /runtimes?limit=100` through every record,
 * and after each page a `GET /healthz` of the same web process (no database):
 * what the machine's own stalls cost a request. Fails unless it saw `expected` records.
 */
async function walkPages(system: FaultSystem, expected: number): Promise<{ pages: number[]; floor: number[] }> {
  const pages: number[] = [];
  const floor: number[] = [];
  let cursor: string | null = null;
  let seen = 0;
  do {
    const query: string = `limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    let t = performance.now();
    const res = await fetch(`${system.base}/api/v1/internal/runtimes?${query}`, { headers: { authorization: `Bearer ${system.token}` } });
    const page = (await res.json()) as { records: unknown[]; next_cursor: string | null };
    pages.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`GET /runtimes answered ${res.status}`);
    seen += page.records.length;
    cursor = page.next_cursor;
    t = performance.now();
    const health = await fetch(`${system.base}/healthz`);
    await health.arrayBuffer();
    floor.push(performance.now() - t);
  } while (cursor);
  if (seen !== expected) throw new Error(`paging saw ${seen} records, not ${expected}`);
  return { pages, floor };
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)]!;

interface Sample {
  at: number;
  rss: number;
  cpuMs: number;
}

/** The worker's RSS and CPU time every 200 ms until `until` settles. */
async function sampleWorker(pid: number, until: Promise<unknown>): Promise<Sample[]> {
  const samples: Sample[] = [];
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    samples.push({ at: Date.now(), rss: residentBytes(pid), cpuMs: cpuMs(pid) });
    await sleep(200);
  }
  return samples;
}

/** The worker's CPU time over a pass (to the 200 ms of the samples): what the pass costs the process, apart from the wait for the machine. */
function passCpuMs(samples: Sample[], pass: Pass): number {
  const from = [...samples].reverse().find((s) => s.at <= pass.finishedOn - pass.durationMs) ?? samples[0]!;
  const to = samples.find((s) => s.at >= pass.finishedOn) ?? samples.at(-1)!;
  return to.cpuMs - from.cpuMs;
}

/** Every engine killed at once through the daemon, until no record of theirs says running. */
async function killStorm(system: FaultSystem, games: string[]): Promise<number> {
  const containers = await docker.listContainers({ filters: { name: [`galaxy-game-${system.run}-`], status: ['running'] } });
  if (containers.length !== games.length) throw new Error(`${containers.length} engines running, not ${games.length}`);
  const t = performance.now();
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).kill()));
  const killedMs = performance.now() - t;
  // The daemon's side beside the records': when it lists none of them running any more.
  let daemonMs = 0;
  const daemonDone = (async () => {
    while ((await docker.listContainers({ filters: { name: [`galaxy-game-${system.run}-`], status: ['running'] } })).length > 0) await sleep(250);
    daemonMs = performance.now() - t;
  })();
  const deadline = Date.now() + 600_000;
  for (;;) {
    const [row] = await system.database.db
      .select({ n: count() })
      .from(runtimeRecords)
      .where(and(inArray(runtimeRecords.gameId, games), eq(runtimeRecords.status, 'running')));
    if (row?.n === 0) break;
    if (Date.now() > deadline) throw new Error(`${row?.n} records still running 600 s after the kill`);
    await sleep(100);
  }
  const ms = performance.now() - t;
  await daemonDone;
  console.log(
    `kill storm: the kills answered after ${Math.round(killedMs)} ms, the daemon listed none running after ${Math.round(daemonMs)} ms, every record true after ${Math.round(ms)} ms`,
  );
  const statuses = await system.database.db
    .select({ status: runtimeRecords.status, n: count() })
    .from(runtimeRecords)
    .where(inArray(runtimeRecords.gameId, games))
    .groupBy(runtimeRecords.status);
  console.log(`kill storm: records after it ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}`);
  if (statuses.some((s) => s.status !== 'exited')) throw new Error('a killed engine has a record that is not exited');
  return ms;
}

async function singleEngine(results: Record<string, number | null>, meta: Record<string, unknown>): Promise<void> {
  const system = await operatorSystem('scale');
  const stop = () => void system.cleanup().then(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    meta.settings = settingsOf(system);
    console.log('settings (single engine):', meta.settings);
    const interval = configOf(system).reconcileIntervalMs;
    system.start('web', await procfileNodeArgs('web'));
    const worker = system.start('worker', await procfileNodeArgs('worker'));
    system.start('intake', await procfileNodeArgs('intake'));
    await system.waitReady();

    const games = Array.from({ length: N.engines }, (_, i) => system.gameId(`run${String(i).padStart(4, '0')}`));
    const startMs = await startEngines(system, games);
    console.log(`started ${games.length} engines through the API in ${Math.round(startMs / 1000)} s`);
    await insertStopped(system, N.records - N.engines);
    results.scale_engines = (await docker.listContainers({ filters: { name: [`galaxy-game-${system.run}-`], status: ['running'] } })).length;

    // The worker's own passes over every engine, its RSS sampled meanwhile (its event follower is up since boot).
    const passing = reconcilePasses(system, PASSES, (s) => s.containers >= N.engines && s.runningRecords === N.engines, PASSES * interval + 120_000);
    const samples = await sampleWorker(worker.pid!, passing);
    const passes = await passing;
    results.scale_worker_rss_mb = Math.round(Math.max(...samples.map((x) => x.rss)) / 1024 / 1024);
    results.scale_reconcile_ms = median(passes.map((p) => p.durationMs));
    console.log(`reconcile passes (worker's, interval ${interval} ms): ${passes.map((p) => JSON.stringify(p)).join('\n  ')}`);
    console.log(
      `  worker CPU over each pass (±200 ms): ${passes.map((p) => `${passCpuMs(samples, p)} ms`).join(', ')}; load average ${os.loadavg()[0]!.toFixed(1)}`,
    );

    await walkPages(system, N.records);
    const pages: number[] = [];
    const floor: number[] = [];
    for (let w = 0; w < PAGE_WALKS; w++) {
      const walk = await walkPages(system, N.records);
      pages.push(...walk.pages);
      floor.push(...walk.floor);
    }
    results.scale_page_p99_ms = +p99(pages).toFixed(1);
    const slowest = pages
      .map((ms, i) => ({ ms, i }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5);
    console.log(
      `paging: ${pages.length} pages of ${PAGE_LIMIT}, median ${median(pages).toFixed(1)} ms, p99 ${results.scale_page_p99_ms} ms; slowest (page #: ms) ${slowest.map((x) => `${x.i}: ${x.ms.toFixed(1)}`).join(', ')}; GET /healthz beside each page: median ${median(floor).toFixed(1)} ms, p99 ${p99(floor).toFixed(1)} ms`,
    );

    results.scale_kill_storm_true_ms = Math.round(await killStorm(system, games));
    meta.kill_storm_goal_ms = 2 * interval;
  } finally {
    process.removeListener('SIGINT', stop);
    await system.cleanup();
    // The harness tries its network once; just after 500 containers went, the daemon may still hold endpoints on it.
    await removeNetwork(docker, system.networkName);
  }
}

async function main(): Promise<void> {
  await loadServicesEnv();
  const began = Date.now();
  const results: Record<string, number | null> = {
    scale_engines: null,
    scale_reconcile_ms: null,
    scale_page_p99_ms: null,
    scale_worker_rss_mb: null,
    scale_kill_storm_true_ms: null,
    swarm_reconcile_ms_200: null,
  };
  const meta: Record<string, unknown> = {};
  if (N.engines > 0) await singleEngine(results, meta);
  const host = process.env.RTM_TEST_SWARM_HOST;
  if (host && N.swarmServices > 0) {
    const swarm = await swarmReconcile(host, N.swarmServices);
    results.swarm_reconcile_ms_200 = swarm.ms;
    meta.swarm_settings = swarm.settings;
  } else console.log('swarm part skipped: RTM_TEST_SWARM_HOST is unset (scripts/services.sh up --swarm) or BENCH_SCALE_SWARM_SERVICES=0');

  const version = (await docker.version()) as { Version?: string };
  const out = {
    ...results,
    meta: {
      commit: execFileSync('git', ['rev-parse', 'HEAD']).toString().trim(),
      date: new Date().toISOString(),
      cpus: os.cpus().length,
      docker_version: version.Version ?? 'unknown',
      sizes: N,
      duration_s: Math.round((Date.now() - began) / 1000),
      ...meta,
    },
  };
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/scale.json', `${JSON.stringify(out, null, 2)}\n`);
  const goals: Record<string, string> = {
    scale_engines: `= ${N.engines}`,
    scale_reconcile_ms: '≤ 1000',
    scale_page_p99_ms: '≤ 20',
    scale_worker_rss_mb: '≤ 150',
    scale_kill_storm_true_ms: `≤ ${String(meta.kill_storm_goal_ms)} (two reconcile intervals)`,
    swarm_reconcile_ms_200: '≤ 2000',
  };
  console.log('\nmetric                         value      goal');
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(30)} ${String(v).padEnd(10)} ${goals[k]}`);
  console.log(`\nbench:scale took ${out.meta.duration_s} s; written to bench/results/scale.json`);
}

await main();
