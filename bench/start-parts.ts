/**
 * The bench's parts that time starts on the default engine, each against the
 * raw baseline (raw.ts) in pairs whose first side alternates; each figure is
 * the median of the paired ratios, the ratio of the medians printed beside it:
 * - latency: one start, POST → `container_started`, against a raw create + start;
 * - cold: the same with an image that is not local (its own 20 MB layer);
 * - shared: many games on one cold image at once (the system pulls once);
 * - burst: many starts at once, every record running; a throughput ratio (raw ÷ system).
 * A start the system refuses fails the part.
 */
import type { Redis } from 'ioredis';
import type { FaultSystem } from '../test/faults/support.js';
import { docker } from '../test/faults/support.js';
import type { Paired } from './measure.js';
import { alternate, median, pairedRatio, systemStart, timedStart, waitRunning } from './measure.js';
import { COLD_LAYER_BYTES, IMAGE, coldImage, rawPull, rawStart, removeRaw } from './raw.js';

export interface StartBench {
  system: FaultSystem;
  /** A Redis connection of its own for XREAD BLOCK. */
  watcher: Redis;
  /** Cold images pushed, removed at the end. */
  pushed: string[];
}

/** After a removal the system hears of it (events, reconciliation): the next side starts once that has passed. */
const SETTLE_MS = 3_000;

/** The same clean-up before each side: no raw container, none of the system's `prefix` games' containers, a settled system. */
async function cleanSlate(system: FaultSystem, prefix: string): Promise<void> {
  await removeRaw();
  const ours = await docker.listContainers({ all: true, filters: { name: [`galaxy-game-${prefix}`] } });
  await Promise.all(ours.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  if (ours.length) await new Promise((r) => setTimeout(r, SETTLE_MS));
}

/** Starts every game at once through the API, until each record runs; a refused start throws. */
async function systemBurst(system: FaultSystem, games: string[], image: string): Promise<number> {
  const t = performance.now();
  const statuses = await Promise.all(games.map((g) => systemStart(system, g, image)));
  const refused = statuses.filter((s) => s !== 202);
  if (refused.length) throw new Error(`${refused.length} of ${games.length} starts refused (${[...new Set(refused)].join(', ')})`);
  await waitRunning(system, games, 600_000);
  return performance.now() - t;
}

function report(part: string, p: Paired, sides: { rawMs: number[]; sysMs: number[] }): void {
  console.log(
    `${part}: raw median ${median(sides.rawMs).toFixed(0)} ms, system median ${median(sides.sysMs).toFixed(0)} ms; median of paired ratios ${p.ratio}, ratio of medians ${p.ratioOfMedians}`,
  );
  console.log(`  raw ms: ${sides.rawMs.map((ms) => ms.toFixed(0)).join(' ')}\n  sys ms: ${sides.sysMs.map((ms) => ms.toFixed(0)).join(' ')}`);
}

export async function latencyPart({ system, watcher }: StartBench, games: number): Promise<Paired> {
  const sides = await alternate(games, {
    raw: async (i) => {
      const t = performance.now();
      const c = await rawStart(system.networkName, `bench-raw-${system.run}-${i}`);
      const ms = performance.now() - t;
      await c.remove({ force: true });
      return ms;
    },
    sys: (i) => timedStart(system, watcher, system.gameId(`lat${i}`), IMAGE),
  });
  const p = pairedRatio(sides.sysMs, sides.rawMs);
  report(`latency (${games} pairs)`, p, sides);
  return p;
}

export async function coldPart({ system, watcher, pushed }: StartBench, samples: number): Promise<Paired> {
  const sides = await alternate(samples, {
    raw: async (i) => {
      const image = coldImage(pushed);
      const t = performance.now();
      await rawPull(image);
      const c = await rawStart(system.networkName, `bench-cold-${system.run}-${i}`, image);
      const ms = performance.now() - t;
      await c.remove({ force: true });
      return ms;
    },
    sys: (i) => timedStart(system, watcher, system.gameId(`cold${i}`), coldImage(pushed)),
  });
  const p = pairedRatio(sides.sysMs, sides.rawMs);
  report(`cold start (${COLD_LAYER_BYTES >> 20} MB layer, ${samples} pairs)`, p, sides);
  return p;
}

/** One raw pull then the raw starts all at once, against the system's starts all at once (which share one pull). */
export async function sharedPart({ system, pushed }: StartBench, games: number, rounds: number): Promise<Paired> {
  const prefix = system.gameId('shared');
  const sides = await alternate(rounds, {
    before: () => cleanSlate(system, prefix),
    raw: async (round) => {
      const image = coldImage(pushed);
      const t = performance.now();
      await rawPull(image);
      await Promise.all(Array.from({ length: games }, (_, i) => rawStart(system.networkName, `bench-shared-${system.run}-${round}-${i}`, image)));
      return performance.now() - t;
    },
    sys: (round) =>
      systemBurst(
        system,
        Array.from({ length: games }, (_, i) => `${prefix}${round}x${i}`),
        coldImage(pushed),
      ),
  });
  await cleanSlate(system, prefix);
  const p = pairedRatio(sides.sysMs, sides.rawMs);
  report(`shared pull (${games} games, ${rounds} rounds)`, p, sides);
  return p;
}

/**
 * `count` starts at once. The last round's system containers stay (with an
 * odd number of rounds the system's side goes last): the reconcile part
 * passes over them.
 */
export async function burstPart({ system }: StartBench, count: number, rounds: number): Promise<Paired> {
  const prefix = system.gameId('burst');
  const sides = await alternate(rounds, {
    before: () => cleanSlate(system, prefix),
    raw: async (round) => {
      const t = performance.now();
      await Promise.all(Array.from({ length: count }, (_, i) => rawStart(system.networkName, `bench-burst-${system.run}-${round}-${i}`)));
      return performance.now() - t;
    },
    sys: (round) =>
      systemBurst(
        system,
        Array.from({ length: count }, (_, i) => `${prefix}${round}x${i}`),
        IMAGE,
      ),
  });
  await removeRaw();
  const p = pairedRatio(sides.rawMs, sides.sysMs);
  report(`burst (${count} at once, ${rounds} rounds; throughput ratio raw ÷ system)`, p, sides);
  return p;
}
