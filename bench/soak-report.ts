/** The soak's table on the console and its record, bench/results/soak.json (the last run's). */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { loadConfig } from '../src/config.js';
import { nonDefaultSettings } from './settings.js';
import type { Figures, Verdict } from './soak-judge.js';
import type { RedisKind } from './soak-probes.js';
import { MB } from './soak-probes.js';

export interface SoakOutcome {
  durationS: number;
  measuredS: number;
  settings: ReturnType<typeof settingsOf>;
  figures: Figures;
  judged: Verdict[];
  done: number;
  warmUp: number;
  image: string;
  failures: Figures['failures'];
  maxFailures: number;
}

/**
 * What the soak's system ran with: the variables that differ from an
 * operator's default (placement aside: none, unless the harness changed), each
 * role's node flags, and the settings that shape its work as it read them.
 */
export function settingsOf(env: NodeJS.ProcessEnv, nodeArgs: Record<string, string[]>) {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(`the soak's environment does not load: ${loaded.errors.join('; ')}`);
  const c = loaded.config;
  return {
    nonDefault: nonDefaultSettings(env),
    nodeArgs,
    inEffect: {
      logLevel: c.logLevel,
      leaseTtlMs: c.leaseTtlMs,
      leaseWaitMs: c.leaseWaitMs,
      jobAttempts: c.jobs.attempts,
      jobBackoffMs: c.jobs.backoffMs,
      jobLockMs: c.jobs.lockMs,
      workerConcurrency: c.jobs.concurrency,
      reconcileIntervalMs: c.reconcileIntervalMs,
      streamDedupWindowMs: c.streamDedupWindowMs,
    },
  };
}

export function report(o: SoakOutcome): void {
  const { figures: f } = o;
  const row = (name: string, warm: number | string, end: number | string) =>
    console.log(`${name.padEnd(36)} ${String(warm).padStart(12)} ${String(end).padStart(12)}`);
  console.log(
    `\n${o.done} cycles in ${o.durationS.toFixed(1)} s (${((1000 * o.durationS) / o.done).toFixed(0)} ms a cycle, ${f.games} games at once); ` +
      `measured over the last ${f.cycles} (${o.measuredS.toFixed(1)} s)`,
  );
  row('', `after ${o.warmUp}`, `after ${o.done}`);
  for (const role of f.roles) row(`rss ${role} after a full GC (MB)`, f.warm.afterGc[role]!.rssMb.toFixed(1), f.end.afterGc[role]!.rssMb.toFixed(1));
  for (const role of f.roles) row(`JS heap ${role} after a full GC (MB)`, f.warm.afterGc[role]!.heapMb.toFixed(1), f.end.afterGc[role]!.heapMb.toFixed(1));
  for (const role of f.roles) row(`rss ${role} (MB, median of a tenth)`, f.rss.warm[role]!.toFixed(1), f.rss.end[role]!.toFixed(1));
  for (const role of f.roles) console.log(`  rss ${role} by tenth of the run (MB): ${f.rss.tenths[role]!.join(' ')}`);
  for (const role of f.roles) row(`open fds ${role} (idle)`, f.warm.fds[role]!, f.end.fds[role]!);
  for (const role of f.roles) row(`postgres sessions ${role} (idle)`, f.warm.pgSessions[role]!, f.end.pgSessions[role]!);
  row('redis keys', f.warm.redis.keys, f.end.redis.keys);
  row('redis used_memory (MB)', (f.warm.redis.usedMemoryBytes / MB).toFixed(2), (f.end.redis.usedMemoryBytes / MB).toFixed(2));
  console.log('\nredis keys by kind (keys, KB, stream entries):');
  const kinds = [...new Set([...Object.keys(f.warm.redis.kinds), ...Object.keys(f.end.redis.kinds)])].sort();
  const fmt = (k: RedisKind | undefined) => (k ? `${k.keys} ${(k.bytes / 1024).toFixed(1)}${k.stream ? ` ${k.entries}` : ''}` : '-');
  for (const kind of kinds) console.log(`  ${kind.padEnd(66)} ${fmt(f.warm.redis.kinds[kind]).padStart(16)} ${fmt(f.end.redis.kinds[kind]).padStart(16)}`);
  console.log('\nopen fds by kind, idle (after the warm-up → at the end):');
  for (const role of f.roles) {
    const [a, b] = [f.warm.fdKinds[role] ?? {}, f.end.fdKinds[role] ?? {}];
    const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    console.log(`  ${role}: ${names.map((n) => `${n} ${a[n] ?? 0}→${b[n] ?? 0}`).join(', ')}`);
  }
  console.log('');
  for (const v of o.judged) console.log(`${v.pass ? 'ok  ' : 'FAIL'} ${v.name}: ${v.detail}`);
}

export async function writeResult(o: SoakOutcome): Promise<void> {
  const { figures: f } = o;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench/*.ts']).toString().trim() !== '';
  const both = <T>(pick: (s: Figures['warm']) => T) => ({ warm: pick(f.warm), end: pick(f.end) });
  const result = {
    date: new Date().toISOString(),
    commit: dirty ? `${commit}+changes` : commit,
    cpus: cpus().length,
    cycles: o.done,
    games: f.games,
    warm_up_cycles: o.warmUp,
    image: o.image,
    duration_s: round(o.durationS),
    measured_s: round(o.measuredS),
    settings: o.settings,
    rss_mb: Object.fromEntries(
      f.roles.map((role) => [
        role,
        {
          after_gc: { warm: round(f.warm.afterGc[role]!.rssMb), end: round(f.end.afterGc[role]!.rssMb) },
          heap_after_gc: { warm: round(f.warm.afterGc[role]!.heapMb), end: round(f.end.afterGc[role]!.heapMb) },
          under_load: { warm: round(f.rss.warm[role]!), end: round(f.rss.end[role]!), by_tenth: f.rss.tenths[role] },
        },
      ]),
    ),
    fds: Object.fromEntries(f.roles.map((role) => [role, { warm: f.warm.fds[role], end: f.end.fds[role], load_max_after_warm_up: f.loadMax.fds[role] }])),
    fd_kinds: both((s) => s.fdKinds),
    pg_sessions: { ...both((s) => s.pgSessions), load_max_after_warm_up: f.loadMax.pgSessions },
    redis: {
      keys: both((s) => s.redis.keys),
      used_memory_mb: both((s) => round(s.redis.usedMemoryBytes / MB)),
      kinds: both((s) => s.redis.kinds),
      stream_caps: f.streamCaps,
    },
    failures: o.failures.slice(0, o.maxFailures),
    verdicts: o.judged,
    pass: o.judged.every((v) => v.pass),
  };
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/soak.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log('wrote bench/results/soak.json');
}

const round = (x: number) => Math.round(x * 100) / 100;
