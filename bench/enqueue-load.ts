/**
 * The enqueue load of the benchmark, on its own so it can be run (and
 * profiled) alone: `npx tsx bench/enqueue-load.ts` starts a web process with
 * no worker and drives POST start for fresh game ids at it, then the same
 * load at the floor (below) and prints both and their ratios. With
 * BENCH_CPU_PROF=dir the web process writes a V8 CPU profile there.
 *
 * req/s alone does not travel between machines or runs; a ratio to a floor
 * measured in the same run, with the same load, does. The floor is the least
 * a POST start can cost here: a bare @hono/node-server handler that reads the
 * body and does one Redis SET on the same Redis, in a process of its own
 * (plain node, as the web process runs its compiled build).
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import type { FaultSystem } from '../test/faults/support.js';

/** Where the load goes: the web process (a FaultSystem) or the floor. */
export interface LoadTarget {
  base: string;
  token: string;
}

export interface EnqueueLoadResult {
  rps: number;
  p99Ms: number;
  p50Ms: number;
  total: number;
  non2xx: number;
  errors: number;
  rssMbMax: number;
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

async function wrkLoad(web: LoadTarget, seconds: number, connections: number): Promise<Omit<EnqueueLoadResult, 'rssMbMax'>> {
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

export async function enqueueLoad(web: LoadTarget, seconds: number, connections = 32): Promise<EnqueueLoadResult> {
  let maxRss = 0;
  const sampler = setInterval(() => {
    void (async () => {
      for (const pid of await childPids()) maxRss = Math.max(maxRss, await rssMb(pid));
    })();
  }, 100);
  if (await hasWrk()) {
    try {
      return { ...(await wrkLoad(web, seconds, connections)), rssMbMax: Math.round(maxRss) };
    } finally {
      clearInterval(sampler);
    }
  }
  let n = 0;
  const prefix = `e${randomUUID().slice(0, 6)}`;
  const headers = { authorization: `Bearer ${web.token}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ image_ref: 'galaxy-test-engine:labelled' });
  try {
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
      rssMbMax: Math.round(maxRss),
      tool: 'autocannon',
    };
  } finally {
    clearInterval(sampler);
  }
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
  fetch: async (req) => {
    const body = await req.text();
    await redis.set(prefix + new URL(req.url).pathname, body, 'PX', 60000);
    return new Response('{"state":"waiting"}', { status: 202, headers: { 'content-type': 'application/json' } });
  },
}, (info) => console.log('FLOOR ' + info.port));
process.on('SIGTERM', () => server.close(() => { redis.disconnect(); process.exit(0); }));
`;

/**
 * The same load (warm-up included) at the floor, on the Redis of `system`.
 * Its keys are deleted here, in batches: not under `system`'s prefix, whose
 * cleanup deletes with one command and has no room for 100k more keys.
 */
export async function floorLoad(system: Pick<FaultSystem, 'env' | 'run' | 'redis'>, seconds: number, connections: number): Promise<EnqueueLoadResult> {
  const prefix = `floor-${system.run}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOR_SERVER], {
    env: { PATH: process.env.PATH, FLOOR_REDIS_URL: system.env.RTMANAGER_REDIS_URL, FLOOR_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const found = /FLOOR (\d+)/.exec(output)?.[1];
        if (found) resolve(Number(found));
      });
      void exited.then(() => reject(new Error(`floor server exited:\n${output}`)));
    });
    const target = { base: `http://127.0.0.1:${port}`, token: 'floor' };
    await enqueueLoad(target, 2, connections); // warm-up, as for the web process
    return await enqueueLoad(target, seconds, connections);
  } finally {
    child.kill('SIGTERM');
    await exited;
    for await (const keys of system.redis.scanStream({ match: `${prefix}/*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length) await system.redis.unlink(...keys);
    }
  }
}

/** Ours against the floor: the figures that travel between runs. */
export function enqueueRatios(ours: EnqueueLoadResult, floor: EnqueueLoadResult) {
  return {
    enqueue_floor_rps: floor.rps,
    enqueue_ratio: +(ours.rps / floor.rps).toFixed(3),
    enqueue_p99_ratio: +(ours.p99Ms / floor.p99Ms).toFixed(3),
  };
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The system's processes: children of this one. */
async function childPids(): Promise<number[]> {
  const children = await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').catch(() => '');
  return children.trim().split(/\s+/).filter(Boolean).map(Number);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { faultSystem } = await import('../test/faults/support.js');
  const prof = process.env.BENCH_CPU_PROF;
  const nodeArgs = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const web = await faultSystem({ nodeArgs, env: process.env.NOQE ? { NOQE: '1' } : {} });
  try {
    web.start('web');
    await web.waitReady();
    await enqueueLoad(web, 2); // warm-up: JIT, connection pools
    const seconds = Number(process.env.BENCH_ENQUEUE_SECONDS ?? 10);
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
    const result = await enqueueLoad(web, seconds, connections);
    console.log(JSON.stringify(result));
    await web.kill('web', 'SIGTERM');
    if (process.env.BENCH_SHOW_OUTPUT) console.log(web.output());
    // The web process is down: the floor has the cores to itself, as ours had.
    const floor = await floorLoad(web, seconds, connections);
    console.log(JSON.stringify({ floor }));
    console.log(JSON.stringify(enqueueRatios(result, floor)));
  } finally {
    await web.cleanup();
  }
}
