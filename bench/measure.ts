/**
 * How the bench times the system, shared by its parts on one engine
 * (run.ts) and on a swarm (swarm.ts): a start through the HTTP API until its
 * container_started event, and a burst until every record runs.
 */
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { and, count, eq, inArray } from 'drizzle-orm';
import { runtimeRecords } from '../src/infra/db/schema.js';
import type { FaultSystem } from '../test/faults/support.js';
import { residentBytes } from '../test/support/process-probes.js';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function systemStart(s: FaultSystem, gameId: string, image: string): Promise<number> {
  const res = await s.post(`/runtimes/${gameId}/start`, { image_ref: image });
  await res.body?.cancel();
  return res.status;
}

/** Blocks on the health stream until `gameId`'s event of `type` arrives after entry `from`. */
export async function healthEvent(redis: Redis, stream: string, from: string, gameId: string, type = 'container_started'): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = from;
  for (;;) {
    const reply = await redis.xread('BLOCK', 5_000, 'STREAMS', stream, last);
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        last = id;
        const map = new Map<string, string>();
        for (let k = 0; k + 1 < fields.length; k += 2) map.set(fields[k]!, fields[k + 1]!);
        if (map.get('game_id') === gameId && map.get('event_type') === type) return;
      }
    }
    if (Date.now() > deadline) throw new Error(`${gameId}: no ${type} in 60 s`);
  }
}

export const healthStreamOf = (s: FaultSystem) => `${s.run}:health`;

/** The id of the health stream's last entry: events after it are the ones to wait for. */
export async function lastHealthEntry(s: FaultSystem): Promise<string> {
  return (await s.redis.xrevrange(healthStreamOf(s), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
}

/**
 * POST start → the game's container_started event. Pushed, not polled: the
 * event follows the record write, and a poll would add its period and its
 * CPU to every sample. `watcher` is a connection of its own (XREAD BLOCK
 * holds it).
 */
export async function timedStart(s: FaultSystem, watcher: Redis, gameId: string, image: string): Promise<number> {
  const from = await lastHealthEntry(s);
  const t = performance.now();
  if ((await systemStart(s, gameId, image)) !== 202) throw new Error('start refused');
  await healthEvent(watcher, healthStreamOf(s), from, gameId);
  const ms = performance.now() - t;
  if ((await s.records.get(gameId))?.status !== 'running') throw new Error(`${gameId}: event without a running record`);
  return ms;
}

/** One count query per poll: a get per game would put hundreds of queries a second beside the starts it times. */
export async function waitRunning(s: FaultSystem, gameIds: string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const [row] = await s.database.db
      .select({ running: count() })
      .from(runtimeRecords)
      .where(and(inArray(runtimeRecords.gameId, gameIds), eq(runtimeRecords.status, 'running')));
    if (row?.running === gameIds.length) return;
    if (Date.now() > deadline) throw new Error(`records running: ${row?.running ?? 0} of ${gameIds.length} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Paired {
  /** Median of the per-pair ratios. */
  ratio: number;
  /** The ratio of the two sides' medians, printed beside it. */
  ratioOfMedians: number;
}

/** `top[i] / bottom[i]` for each pair; their median is the figure. */
export function pairedRatio(top: number[], bottom: number[]): Paired {
  return {
    ratio: +median(top.map((t, i) => t / bottom[i]!)).toFixed(3),
    ratioOfMedians: +(median(top) / median(bottom)).toFixed(3),
  };
}

/**
 * `rounds` pairs of samples, the side that goes first alternating (raw first
 * in even rounds), `before` run before every side alike (the same clean-up).
 */
export async function alternate(
  rounds: number,
  sides: { raw: (round: number) => Promise<number>; sys: (round: number) => Promise<number>; before?: () => Promise<void> },
): Promise<{ rawMs: number[]; sysMs: number[] }> {
  const rawMs: number[] = [];
  const sysMs: number[] = [];
  const run = async (side: 'raw' | 'sys', round: number) => {
    await sides.before?.();
    (side === 'raw' ? rawMs : sysMs).push(await sides[side](round));
  };
  for (let round = 0; round < rounds; round++) {
    const [first, second] = round % 2 === 0 ? (['raw', 'sys'] as const) : (['sys', 'raw'] as const);
    await run(first, round);
    await run(second, round);
  }
  return { rawMs, sysMs };
}

/** The peak resident memory of the processes `pids` names, sampled every 100 ms until `stop` (MB). */
export function peakRss(pids: () => Array<number | undefined>): { stop(): number } {
  let peak = 0;
  const sample = () => {
    for (const pid of pids()) {
      if (pid === undefined) continue;
      try {
        peak = Math.max(peak, residentBytes(pid));
      } catch {
        // Gone between two samples.
      }
    }
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Math.round(peak / (1024 * 1024));
    },
  };
}

/** The test registry's coordinates, from var/services.env when the shell did not source it. */
export async function loadServicesEnv(): Promise<void> {
  if (process.env.RTM_TEST_REGISTRY) return;
  const text = await readFile('var/services.env', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const match = /^(RTM_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2];
  }
}
