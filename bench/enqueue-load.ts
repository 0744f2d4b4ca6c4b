/**
 * The enqueue load of the benchmark, on its own so it can be run (and
 * profiled) alone: `npx tsx bench/enqueue-load.ts` starts a web process with
 * no worker, at an operator's defaults, and drives POST start for fresh game
 * ids at it and at the floor (below) in turns, BENCH_ENQUEUE_ROUNDS pairs
 * whose first side alternates, and prints both and their ratios. With
 * BENCH_CPU_PROF=dir the web process writes a V8 CPU profile there.
 *
 * req/s alone does not travel between machines or runs; a ratio to a floor
 * measured in the same run, with the same load, does. The floor is the least
 * a real POST start must do: read the JSON body, one Redis write on the same
 * Redis, a JSON answer; a bare @hono/node-server handler in a process of its
 * own (plain node, as the web process runs its compiled build). It reads the
 * body from the IncomingMessage, as the web process does (src/http/body.ts):
 * `req.json()` there would build a whole WHATWG Request and slow the floor.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import type { FaultSystem } from '../test/faults/support.js';
import { cpuMs, residentBytes } from '../test/support/process-probes.js';
import { alternate, median, pairedRatio, peakRss } from './measure.js';
import { describeSettings } from './settings.js';

/** Where the load goes: the web process (a FaultSystem) or the floor. */
export interface LoadTarget {
  base: string;
  token: string;
  /** The server's process: its CPU time per request is measured (less noisy than req/s on a shared machine). */
  pid?: number;
}

export interface EnqueueLoadResult {
  rps: number;
  p99Ms: number;
  p50Ms: number;
  total: number;
  non2xx: number;
  errors: number;
  /** CPU time the server's process spent a request, µs (null without its pid). */
  cpuUsPerRequest: number | null;
  /** Which load generator measured it. */
  tool: 'wrk' | 'autocannon';
}

/**
 * wrk is C: on a 2-core machine it leaves the server most of a core that
 * autocannon (JavaScript, in this process) would take. Used when installed.
 */
async function hasWrk(): Promise<boolean> {
  return promisify(execFile)('wrk', ['--version']).then(
    () => true,
    (e: { code?: unknown }) => e.code !== 'ENOENT',
  );
}

/** On Debian as root, installs wrk (a package) if it is missing; otherwise the load falls back to autocannon. */
export async function ensureWrk(): Promise<void> {
  if (await hasWrk()) return;
  if (process.getuid?.() !== 0) return;
  console.log('bench: installing wrk (Debian package) for the enqueue load');
  await promisify(execFile)('apt-get', ['install', '-y', '-q', 'wrk'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).catch(() => undefined);
}

// Each wrk thread numbers its own game ids; the thread id keeps them apart.
const WRK_SCRIPT = `
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
function request()
  n = n + 1
  return wrk.format("POST", "/api/v1/internal/runtimes/" .. PREFIX .. "-" .. tid .. "-" .. n .. "/start", HEADERS, BODY)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"total":%d,"us":%d,"p50":%d,"p99":%d,"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`;

async function wrkLoad(web: LoadTarget, seconds: number, connections: number): Promise<Omit<EnqueueLoadResult, 'cpuUsPerRequest'>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-wrk-'));
  try {
    const script = path.join(dir, 'load.lua');
    const prefix = `w${randomUUID().slice(0, 6)}`;
    const headers = `{ ["authorization"] = "Bearer ${web.token}", ["content-type"] = "application/json" }`;
    await writeFile(script, `PREFIX = "${prefix}"\nHEADERS = ${headers}\nBODY = '{"image_ref":"galaxy-test-engine:labelled"}'\n${WRK_SCRIPT}`);
    const { stdout } = await promisify(execFile)('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, web.base]);
    const line = /WRK (\{.*\})/.exec(stdout)?.[1];
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const r = JSON.parse(line) as { total: number; us: number; p50: number; p99: number; non2xx: number; errors: number };
    return {
      rps: Math.round(r.total / (r.us / 1e6)),
      p99Ms: +(r.p99 / 1000).toFixed(2),
      p50Ms: +(r.p50 / 1000).toFixed(2),
      total: r.total,
      non2xx: r.non2xx,
      errors: r.errors,
      tool: 'wrk',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `seconds` of load at `web`; a request answered other than 2xx, or not at all, fails it. */
export async function enqueueLoad(web: LoadTarget, seconds: number, connections = 32): Promise<EnqueueLoadResult> {
  const cpuBefore = web.pid ? cpuMs(web.pid) : 0;
  const load = (await hasWrk()) ? await wrkLoad(web, seconds, connections) : await autocannonLoad(web, seconds, connections);
  const result = { ...load, cpuUsPerRequest: web.pid ? Math.round(((cpuMs(web.pid) - cpuBefore) * 1000) / load.total) : null };
  if (result.non2xx || result.errors)
    throw new Error(`enqueue load at ${web.base}: ${result.non2xx} non-2xx answers, ${result.errors} errors of ${result.total}`);
  return result;
}

async function autocannonLoad(web: LoadTarget, seconds: number, connections: number): Promise<Omit<EnqueueLoadResult, 'cpuUsPerRequest'>> {
  let n = 0;
  const prefix = `e${randomUUID().slice(0, 6)}`;
  const headers = { authorization: `Bearer ${web.token}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ image_ref: 'galaxy-test-engine:labelled' });
  const load = await autocannon({
    url: web.base,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({ ...req, path: `/api/v1/internal/runtimes/${prefix}-${n++}/start`, headers: { ...req.headers, ...headers }, body }),
      },
    ],
  });
  return {
    rps: Math.round(load.requests.average),
    p99Ms: load.latency.p99,
    p50Ms: load.latency.p50,
    total: load.requests.total,
    non2xx: load.non2xx,
    errors: load.errors,
    tool: 'autocannon',
  };
}

/**
 * The floor's server, run by plain node from the checkout (so it resolves the
 * same node_modules). Same client options as the web process's enqueue
 * connection (auto-pipelining); PX so a run that dies leaves nothing for long.
 */
const FLOOR_SERVER = `
import { serve } from '@hono/node-server';
import { Redis } from 'ioredis';
const redis = new Redis(process.env.FLOOR_REDIS_URL, { maxRetriesPerRequest: null, enableAutoPipelining: true });
const prefix = process.env.FLOOR_PREFIX;
const server = serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: async (req, { incoming }) => {
    const chunks = [];
    for await (const chunk of incoming) chunks.push(chunk);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    await redis.set(prefix + req.url.slice(req.url.indexOf('/', 8)), body.image_ref, 'PX', 60000);
    return new Response(JSON.stringify({ state: 'waiting' }), { status: 202, headers: { 'content-type': 'application/json' } });
  },
}, (info) => console.log('FLOOR ' + info.port));
process.on('SIGTERM', () => server.close(() => { redis.disconnect(); process.exit(0); }));
`;

/**
 * The floor's server on the Redis of `system`, until `stop`. Its keys are
 * deleted then, in batches: not under `system`'s prefix, whose cleanup
 * deletes with one command and has no room for 100k more keys.
 */
export async function startFloor(system: Pick<FaultSystem, 'env' | 'run' | 'redis'>): Promise<LoadTarget & { pid: number; stop(): Promise<void> }> {
  const prefix = `floor-${system.run}`;
  const server = await serveScript(FLOOR_SERVER, { marker: 'FLOOR', env: { FLOOR_REDIS_URL: system.env.RTMANAGER_REDIS_URL, FLOOR_PREFIX: prefix } });
  let stopped: Promise<void> | undefined;
  // Once: the bench's clean-up calls it again after its system (and Redis connection) is gone.
  const stop = () => (stopped ??= stopOnce());
  const stopOnce = async () => {
    await server.stop();
    for await (const keys of system.redis.scanStream({ match: `${prefix}/*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length) await system.redis.unlink(...keys);
    }
  };
  return { base: `http://127.0.0.1:${server.port}`, token: 'floor', pid: server.pid, stop };
}

/**
 * A server `script` (an ES module) run by plain node from the checkout, so it
 * resolves the same node_modules, with `nodeArgs` and `env` (and PATH) only;
 * ready once it prints `{marker} {port}`. Fails with its output should it exit
 * first. `stop` sends SIGTERM and waits for it to exit.
 */
export async function serveScript(
  script: string,
  opts: { marker: string; env: Record<string, string | undefined>; nodeArgs?: string[] },
): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  const listening = new RegExp(`${opts.marker} (\\d+)`);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const found = listening.exec(output)?.[1];
        if (found) resolve(Number(found));
      });
      void exited.then(() => reject(new Error(`${opts.marker} server exited:\n${output}`)));
    });
    return { port, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface EnqueuePairs {
  ours: EnqueueLoadResult[];
  floor: EnqueueLoadResult[];
  /** Medians of our rounds and the floor's, and the paired ratios. */
  figures: { enqueue_rps: number; enqueue_p99_ms: number; enqueue_floor_rps: number; enqueue_ratio: number; enqueue_p99_ratio: number };
  /** The ratios of the medians, printed beside. */
  ratioOfMedians: { rps: number; p99: number };
}

/** Both warmed up, then `rounds` pairs of `seconds` of load, the side that goes first alternating. */
export async function enqueuePairs(web: LoadTarget, floor: LoadTarget, rounds: number, seconds: number, connections: number): Promise<EnqueuePairs> {
  // Warm-up: JIT, connection pools.
  await enqueueLoad(web, 2, connections);
  await enqueueLoad(floor, 2, connections);
  const ours: EnqueueLoadResult[] = [];
  const floors: EnqueueLoadResult[] = [];
  await alternate(rounds, {
    raw: async () => {
      floors.push(await enqueueLoad(floor, seconds, connections));
      return 0;
    },
    sys: async () => {
      ours.push(await enqueueLoad(web, seconds, connections));
      return 0;
    },
  });
  const rps = pairedRatio(
    ours.map((r) => r.rps),
    floors.map((r) => r.rps),
  );
  const p99 = pairedRatio(
    ours.map((r) => r.p99Ms),
    floors.map((r) => r.p99Ms),
  );
  return {
    ours,
    floor: floors,
    figures: {
      enqueue_rps: Math.round(median(ours.map((r) => r.rps))),
      enqueue_p99_ms: +median(ours.map((r) => r.p99Ms)).toFixed(2),
      enqueue_floor_rps: Math.round(median(floors.map((r) => r.rps))),
      enqueue_ratio: rps.ratio,
      enqueue_p99_ratio: p99.ratio,
    },
    ratioOfMedians: { rps: rps.ratioOfMedians, p99: p99.ratioOfMedians },
  };
}

/** The rounds, one line. */
export function describePairs(p: EnqueuePairs): string {
  const rounds = p.ours.map((o, i) => `${o.rps}/${p.floor[i]!.rps}`).join(' ');
  const cpu = p.ours.map((o, i) => `${o.cpuUsPerRequest}/${p.floor[i]!.cpuUsPerRequest}`).join(' ');
  return `req/s ours/floor by round ${rounds}; p99 ms ours ${p.ours.map((o) => o.p99Ms).join(' ')}, floor ${p.floor.map((f) => f.p99Ms).join(' ')}; ratio of medians ${p.ratioOfMedians.rps} (p99 ${p.ratioOfMedians.p99}); server CPU µs a request ours/floor ${cpu}`;
}

/**
 * Alone: the web process against the floor; with BENCH_VS_DIST=dir (another
 * build, say `cp -r dist dist-before` before a change), against that build's
 * web process instead, both at once, paired the same way.
 */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { faultSystem } = await import('../test/faults/support.js');
  const prof = process.env.BENCH_CPU_PROF;
  const nodeArgs = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const vsDist = process.env.BENCH_VS_DIST;
  const web = await faultSystem({ nodeArgs, defaults: true });
  // BENCH_VS_NODE_ARGS: the other build's node flags, when they differ.
  const otherArgs = process.env.BENCH_VS_NODE_ARGS?.split(' ').filter(Boolean) ?? nodeArgs;
  const other = vsDist ? await faultSystem({ nodeArgs: otherArgs, defaults: true, main: path.join(vsDist, 'main.js') }) : null;
  const floorServer = other ? null : await startFloor(web);
  try {
    console.log(describeSettings('web', web.env, nodeArgs));
    const ours = { base: web.base, token: web.token, pid: web.start('web').pid };
    await web.waitReady();
    const theirs = other ? { base: other.base, token: other.token, pid: other.start('web').pid } : floorServer!;
    await other?.waitReady();
    const seconds = Number(process.env.BENCH_ENQUEUE_SECONDS ?? 10);
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
    const rss = peakRss(() => [ours.pid]);
    const theirRss = other ? peakRss(() => [theirs.pid]) : null;
    const idleRss = [ours.pid, other ? theirs.pid : undefined].map((pid) => pid && Math.round(residentBytes(pid) / 2 ** 20));
    const pairs = await enqueuePairs(ours, theirs, Number(process.env.BENCH_ENQUEUE_ROUNDS ?? 3), seconds, connections);
    console.log(`${other ? `against ${vsDist}: ` : ''}${describePairs(pairs)}`);
    console.log(JSON.stringify({ ...pairs.figures, rss_mb_idle: idleRss, rss_mb_max: [rss.stop(), theirRss?.stop()] }));
    await web.kill('web', 'SIGTERM');
    if (process.env.BENCH_SHOW_OUTPUT) console.log(web.output());
  } finally {
    await floorServer?.stop();
    await other?.cleanup();
    await web.cleanup();
  }
}
