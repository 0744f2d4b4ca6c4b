/**
 * The soak's verdicts: what may grow between the end of the warm-up and the
 * end of the run, and by how much.
 *
 * RSS: after a full GC at each end (soak-probes.ts: afterFullGc), ≤ +10 %.
 * Descriptors and Postgres sessions: idle at the end, at most what the
 * process held idle after the warm-up or under load in the tenth after it.
 *
 * Redis, by kind of key (soak-probes.ts: a name with its game ids and numbers
 * taken out). What is per game stays per game: a kind named by game has at
 * most one key a game. A kind named by a number or an id (one key per job,
 * per operation) must not grow, but for the scheduled jobs' history, which
 * grows with time up to its retention. Streams grow with operations by
 * design, each up to its cap: the verdict is that each has one, and the
 * report says what it weighs at that cap. Memory: the keys' bytes, and
 * used_memory less the streams and the scheduled history, ≤ +10 %.
 */
import type { RedisFigures, RedisKind } from './soak-probes.js';

/** What the idle system showed after some cycles (soak.ts takes one after the warm-up, one at the end). */
export interface Snapshot {
  done: number;
  fds: Record<string, number>;
  fdKinds: Record<string, Record<string, number>>;
  redis: RedisFigures;
  /** Sessions on the system's database by the process holding them (and `other`: the soak's own). */
  pgSessions: Record<string, number>;
  /** Each process's RSS and JS heap after a full collection (soak-probes.ts: afterFullGc). */
  afterGc: Record<string, { rssMb: number; heapMb: number }>;
}

export interface Verdict {
  name: string;
  pass: boolean;
  detail: string;
}

export interface Figures {
  roles: readonly string[];
  games: number;
  /** Cycles between the two snapshots. */
  cycles: number;
  failures: ReadonlyArray<{ cycle: number; gameId: string; step: string; detail: string }>;
  stillRunning: string[];
  /** Median RSS of each process over the first tenth after the warm-up, and over the last tenth. */
  rss: { warm: Record<string, number>; end: Record<string, number>; tenths: Record<string, number[]> };
  /** The most each process held (descriptors, database sessions) while the first tenth after the warm-up ran. */
  loadMax: { fds: Record<string, number>; pgSessions: Record<string, number> };
  warm: Snapshot;
  end: Snapshot;
  /** Each stream kind's cap; null: the soak's processes never write it. */
  streamCaps: Record<string, number | null>;
  /** Most keys a scheduled job's history holds (its retention, and the next run). */
  historyCap: number;
}

const GROWTH = 0.1;
const isHistory = (kind: string) => /:repeat:/.test(kind);

export function verdicts(f: Figures): Verdict[] {
  const first = f.failures[0];
  const out: Verdict[] = [
    {
      name: 'cycles',
      pass: f.failures.length === 0,
      detail: first
        ? `${f.failures.length} failed; first: cycle ${first.cycle} ${first.gameId} ${first.step}: ${first.detail}`
        : 'every cycle started and stopped its game',
    },
    {
      name: 'engines stopped',
      pass: f.stillRunning.length === 0 && !f.failures.some((x) => /still runs/.test(x.detail)),
      detail: f.stillRunning.length ? `still running at the end: ${f.stillRunning.join(', ')}` : 'none ran after its stop',
    },
  ];
  for (const role of f.roles) {
    const [warm, end] = [f.warm.afterGc[role]!, f.end.afterGc[role]!];
    out.push({
      name: `rss ${role}`,
      pass: end.rssMb <= warm.rssMb * (1 + GROWTH),
      detail:
        `after a full GC ${warm.rssMb.toFixed(1)} → ${end.rssMb.toFixed(1)} MB (${pct(end.rssMb, warm.rssMb)}; limit +${GROWTH * 100} %); ` +
        `JS heap ${warm.heapMb.toFixed(1)} → ${end.heapMb.toFixed(1)} MB; under load (median of a tenth) ${f.rss.warm[role]!.toFixed(1)} → ${f.rss.end[role]!.toFixed(1)} MB`,
    });
  }
  // Idle at the end against idle after the warm-up, or the most held under load just after it: a pool
  // (Postgres, Redis, Docker's sockets) may open its last connection late; a leak shows idle.
  for (const role of f.roles) {
    const bound = Math.max(f.warm.fds[role]!, f.loadMax.fds[role]!);
    out.push({
      name: `fds ${role}`,
      pass: f.end.fds[role]! <= bound,
      detail: `idle ${f.warm.fds[role]} → ${f.end.fds[role]} (bound ${bound}: idle or most under load after the warm-up)`,
    });
  }
  for (const role of f.roles) {
    const bound = Math.max(f.warm.pgSessions[role]!, f.loadMax.pgSessions[role]!);
    out.push({
      name: `postgres sessions ${role}`,
      pass: f.end.pgSessions[role]! <= bound,
      detail: `idle ${f.warm.pgSessions[role]} → ${f.end.pgSessions[role]} (bound ${bound})`,
    });
  }
  out.push(redisKeys(f), redisStreams(f), redisMemory(f));
  return out;
}

function kindsOf(f: Figures): Array<[string, RedisKind | undefined, RedisKind]> {
  return Object.entries(f.end.redis.kinds).map(([kind, end]) => [kind, f.warm.redis.kinds[kind], end]);
}

function redisKeys(f: Figures): Verdict {
  const over: string[] = [];
  for (const [kind, warm, end] of kindsOf(f)) {
    if (end.stream) continue;
    if (kind.includes('{game}') && end.keys > f.games) over.push(`${kind}: ${end.keys} keys for ${f.games} games`);
    else if (isHistory(kind) && end.keys > f.historyCap) over.push(`${kind}: ${end.keys} keys, retention ${f.historyCap}`);
    else if (!isHistory(kind) && /\{n\}|\{id\}/.test(kind) && end.keys > (warm?.keys ?? 0)) over.push(`${kind}: ${warm?.keys ?? 0} → ${end.keys}`);
  }
  return {
    name: 'redis keys',
    pass: over.length === 0,
    detail: `${f.warm.redis.keys} → ${f.end.redis.keys} over ${f.cycles} cycles${over.length ? `; grew: ${over.join('; ')}` : ''}`,
  };
}

function redisStreams(f: Figures): Verdict {
  const parts: string[] = [];
  let pass = true;
  for (const [kind, warm, end] of kindsOf(f)) {
    if (!end.stream) continue;
    const cap = f.streamCaps[kind];
    const grown = end.entries - (warm?.entries ?? 0);
    if (cap === undefined || cap === null) {
      pass &&= grown <= 0;
      parts.push(`${kind}: ${end.entries} entries, no cap${grown > 0 ? ', GREW' : ''}`);
      continue;
    }
    // MAXLEN ~ trims by whole nodes: a little over the cap is the design.
    pass &&= end.entries <= cap * 1.02;
    // What an entry costs, from what the growth cost (a small stream's bytes are mostly its fixed overhead).
    const perEntry = grown >= 100 ? (end.bytes - (warm?.bytes ?? 0)) / grown : NaN;
    const atCap = Number.isNaN(perEntry) ? '' : ` ≈ ${((perEntry * cap) / 1024 / 1024).toFixed(1)} MB there`;
    parts.push(`${kind}: ${end.entries} entries, +${(grown / f.cycles).toFixed(1)} a cycle, cap ${cap}${atCap}`);
  }
  return { name: 'redis streams capped', pass, detail: parts.join('; ') };
}

function redisMemory(f: Figures): Verdict {
  const sum = (r: RedisFigures, pick: (kind: string, k: RedisKind) => boolean) =>
    Object.entries(r.kinds).reduce((total, [kind, k]) => total + (pick(kind, k) ? k.bytes : 0), 0);
  const bounded = (kind: string, k: RedisKind) => k.stream || isHistory(kind);
  const keys = (r: RedisFigures) => sum(r, (kind, k) => !bounded(kind, k));
  const rest = (r: RedisFigures) => r.usedMemoryBytes - sum(r, bounded);
  const [keysWarm, keysEnd, restWarm, restEnd] = [keys(f.warm.redis), keys(f.end.redis), rest(f.warm.redis), rest(f.end.redis)];
  return {
    name: 'redis memory',
    pass: keysEnd <= keysWarm * (1 + GROWTH) && restEnd <= restWarm * (1 + GROWTH),
    detail:
      `keys (no streams, no scheduled history) ${kb(keysWarm)} → ${kb(keysEnd)}; used_memory less those ${kb(restWarm)} → ${kb(restEnd)} ` +
      `(limit +${GROWTH * 100} % each); used_memory ${kb(f.warm.redis.usedMemoryBytes)} → ${kb(f.end.redis.usedMemoryBytes)}`,
  };
}

const pct = (end: number, warm: number) => `${end >= warm ? '+' : ''}${(((end - warm) / warm) * 100).toFixed(1)} %`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
