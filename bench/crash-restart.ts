/**
 * `crash_restart_ratio` (issue 21, contract §15): an engine that exits 3 →
 * running again, through the system's crash policy (backoff 0), against a
 * raw `docker start` of an exited container by a client that sees the exit
 * on the daemon's event stream and starts it at once. Both sides are timed
 * on the daemon's own clock, from the crashed container's `die` event to the
 * `start` event of what runs next (the game's new container; the same raw
 * container), so neither side's client latency biases it. The side that goes
 * first alternates; each pair gives a ratio, and the figure is their median
 * (the ratio of the medians is printed beside it).
 *
 * The system runs on its own, with every variable an operator would leave
 * alone at its default (the harness's shorter locks and leases, its higher
 * concurrency, its quiet log and its hour-long reconcile period undone); only
 * the crash policy's variables and where things are (its database, Redis
 * keys, network, ports, state root) are set. They are printed.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { Redis } from 'ioredis';
import { DECLARED_VARIABLES } from '../src/config.js';
import { LABEL_GAME_ID } from '../src/domain/model.js';
import type { FaultSystem } from '../test/faults/support.js';
import { docker, faultSystem } from '../test/faults/support.js';
import { healthEvent, healthStreamOf, lastHealthEntry, median, timedStart } from './measure.js';
import { PLACEMENT } from './settings.js';

/** Exits 3 within 100 ms of `crash` appearing in its state directory, and takes the file away (scripts/build-test-images.sh). */
export const CRASH_IMAGE = 'galaxy-test-engine:crash-on-demand';
/** Between pairs: the restart's last writes (record, audit, event) and the order's bookkeeping end before the next pair is timed. */
const SETTLE_MS = 1_500;
const EVENT_DEADLINE_MS = 60_000;
/** One crash on each side before the samples: the first run of each code path (JIT, pools) is not a sample. */
const WARMUPS = 1;

export interface CrashRestart {
  /** Median of the per-pair ratios (system ÷ raw). */
  ratio: number;
  ratioOfMedians: number;
  /** Median of the per-pair differences (system − raw): what the system adds, which moves less with the machine's load than the ratio. */
  differenceMs: number;
  /** The 1-minute load average before and after the samples: the raw `docker start` it is divided by grows with it. */
  load: string;
  rawMs: number[];
  sysMs: number[];
  /** The system side's `die` → its `container_restarted` event read by the bench (record running, audit written): the whole answer. */
  toldMs: number[];
}

export interface DaemonEvent {
  id: string;
  action: string;
  timeNano: number;
  labels: Record<string, string>;
}

/** The daemon's container events (`die` and `start` unless told) from now on, kept, and waited for by predicate. */
export async function followDaemon(events = ['die', 'start']) {
  const stream = (await docker.getEvents({ filters: { type: ['container'], event: events } })) as NodeJS.ReadableStream & { destroy(): void };
  const seen: DaemonEvent[] = [];
  const waiters = new Set<{ from: number; match: (e: DaemonEvent) => boolean; resolve: (e: DaemonEvent) => void }>();
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const raw = JSON.parse(buffer.slice(0, newline)) as { Action: string; timeNano: number; Actor: { ID: string; Attributes?: Record<string, string> } };
      buffer = buffer.slice(newline + 1);
      const event = { id: raw.Actor.ID, action: raw.Action, timeNano: raw.timeNano, labels: raw.Actor.Attributes ?? {} };
      seen.push(event);
      for (const w of waiters) {
        if (w.match(event)) {
          waiters.delete(w);
          w.resolve(event);
        }
      }
    }
  });
  return {
    seen,
    /** Events from here on are the ones a sample waits for. */
    mark: () => seen.length,
    next(from: number, match: (e: DaemonEvent) => boolean, what: string): Promise<DaemonEvent> {
      const already = seen.slice(from).find(match);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = { from, match, resolve };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no ${what} in ${EVENT_DEADLINE_MS} ms`));
        }, EVENT_DEADLINE_MS);
        waiters.add({ ...waiter, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    close: () => stream.destroy(),
  };
}
type Daemon = Awaited<ReturnType<typeof followDaemon>>;

const msBetween = (from: DaemonEvent, to: DaemonEvent) => (to.timeNano - from.timeNano) / 1e6;

/** The engine's state directory gets `crash`: it exits 3 within 100 ms. */
export const crash = (stateDir: string) => writeFile(path.join(stateDir, 'crash'), '');

/** Raw: `die` seen on the event stream → `docker start` of the same container → its `start` event. */
async function rawSample(daemon: Daemon, container: Dockerode.Container, stateDir: string): Promise<number> {
  const mark = daemon.mark();
  await crash(stateDir);
  const died = await daemon.next(mark, (e) => e.id === container.id && e.action === 'die', 'raw die');
  await container.start();
  const started = await daemon.next(mark, (e) => e.id === container.id && e.action === 'start', 'raw start');
  return msBetween(died, started);
}

/** System: the game's container dies → the `start` of the game's next container (and, after it, the restart's event). */
async function systemSample(s: FaultSystem, watcher: Redis, daemon: Daemon, gameId: string): Promise<{ ms: number; toldMs: number }> {
  const before = await s.records.get(gameId);
  if (before?.status !== 'running' || !before.currentContainerId || !before.statePath)
    throw new Error(`${gameId}: not running before its crash (${before?.status})`);
  const crashed = before.currentContainerId;
  const from = await lastHealthEntry(s);
  const mark = daemon.mark();
  await crash(before.statePath);
  const died = await daemon.next(mark, (e) => e.id === crashed && e.action === 'die', 'system die');
  const isNext = (e: DaemonEvent) => e.action === 'start' && e.labels[LABEL_GAME_ID] === gameId && e.id !== crashed;
  const started = await daemon.next(mark, isNext, 'the game’s next container start');
  await healthEvent(watcher, healthStreamOf(s), from, gameId, 'container_restarted');
  const toldMs = Date.now() - died.timeNano / 1e6;
  const after = await s.records.get(gameId);
  if (after?.status !== 'running' || after.currentContainerId !== started.id) throw new Error(`${gameId}: restarted, but its record says ${after?.status}`);
  return { ms: msBetween(died, started), toldMs };
}

/** Every declared variable outside PLACEMENT at its default (or unset), then the crash policy's (`crashEnv`, or a part's own): what is left differing is printed. */
export function operatorDefaults(env: NodeJS.ProcessEnv, crashEnv: Record<string, string>, part = 'crash restart'): void {
  const undone: string[] = [];
  for (const v of DECLARED_VARIABLES) {
    if (PLACEMENT.has(v.name) || env[v.name] === undefined || env[v.name] === v.fallback) continue;
    undone.push(`${v.name}=${env[v.name]} → ${v.fallback ?? 'unset'}`);
    if (v.fallback === undefined) delete env[v.name];
    else env[v.name] = v.fallback;
  }
  Object.assign(env, crashEnv);
  const set = Object.entries(crashEnv).map(([k, v]) => `${k}=${v}`);
  const placed = DECLARED_VARIABLES.filter((v) => PLACEMENT.has(v.name) && env[v.name] !== undefined).map((v) => v.name);
  console.log(`${part}: settings: every variable at its operator default except ${set.join(' ')}`);
  console.log(`  reset from the harness's values: ${undone.join(', ') || 'none'}`);
  console.log(`  placement only (this run's own): ${placed.join(', ')}`);
}

export async function crashRestartRatio(
  samples: number,
  /** The raw container is created on the system's own network, beside the game's. */
  raw: { create: (network: string, name: string, image: string) => Promise<Dockerode.Container>; stateDir: (name: string) => string },
): Promise<CrashRestart> {
  const s = await faultSystem();
  operatorDefaults(s.env, { RTMANAGER_CRASH_RESTART_MAX: String(samples + WARMUPS + 10), RTMANAGER_CRASH_RESTART_BACKOFF_MS: '0' });
  const watcher = s.redis.duplicate();
  const daemon = await followDaemon();
  let rawContainer: Dockerode.Container | undefined;
  try {
    s.start('all');
    await s.waitReady();
    const gameId = s.gameId('crashy');
    await timedStart(s, watcher, gameId, CRASH_IMAGE);
    const rawName = `bench-crash-${s.run}`;
    const rawEngine = await raw.create(s.networkName, rawName, CRASH_IMAGE);
    rawContainer = rawEngine;
    await rawEngine.start();
    const rawSide = () => rawSample(daemon, rawEngine, raw.stateDir(rawName));
    const sysSide = () => systemSample(s, watcher, daemon, gameId);

    const rawMs: number[] = [];
    const sysMs: number[] = [];
    const toldMs: number[] = [];
    const loadBefore = loadavg()[0]!.toFixed(1);
    for (let i = -WARMUPS; i < samples; i++) {
      let rawPart: number;
      let sysPart: { ms: number; toldMs: number };
      if (i % 2 === 0) {
        rawPart = await rawSide();
        sysPart = await sysSide();
      } else {
        sysPart = await sysSide();
        rawPart = await rawSide();
      }
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      if (i < 0) continue;
      rawMs.push(rawPart);
      sysMs.push(sysPart.ms);
      toldMs.push(sysPart.toldMs);
    }
    const record = await s.records.get(gameId);
    if (record?.restartCount !== samples + WARMUPS) throw new Error(`${gameId}: restart_count ${record?.restartCount}, not ${samples + WARMUPS}`);
    const ratios = sysMs.map((ms, i) => ms / rawMs[i]!);
    return {
      ratio: +median(ratios).toFixed(3),
      ratioOfMedians: +(median(sysMs) / median(rawMs)).toFixed(3),
      differenceMs: Math.round(median(sysMs.map((ms, i) => ms - rawMs[i]!))),
      load: `${loadBefore} → ${loadavg()[0]!.toFixed(1)}`,
      rawMs,
      sysMs,
      toldMs,
    };
  } finally {
    daemon.close();
    watcher.disconnect();
    await rawContainer?.remove({ force: true });
    await s.cleanup();
  }
}
