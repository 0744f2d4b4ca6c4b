/**
 * What the soak reads of a running system from outside it: each process's
 * resident memory and open descriptors (/proc), the Redis it alone uses (every
 * key, by kind, with its memory), and the Postgres sessions on its database.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import { residentBytes } from '../test/support/process-probes.js';
import { connectInspector } from './inspector-client.js';

export const MB = 1024 * 1024;

/** Descriptors the process holds now: /proc/PID/fd's entries. */
function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function processFigures(pid: number): { rssMb: number; fds: number } {
  return { rssMb: residentBytes(pid) / MB, fds: openFds(pid) };
}

/**
 * The process's RSS and JS heap right after a full garbage collection, asked
 * through its inspector (the process runs with `--inspect=127.0.0.1:PORT`): what
 * it holds, not where V8's lazy collection happened to be. V8 lets the heap
 * grow for minutes before a full collection gives memory back (the soak saw
 * the worker's RSS climb 127 → 164 MB over 300 cycles, then fall back to 127
 * at its first one), so RSS read without it judges the collector, not a leak.
 */
export async function afterFullGc(wsUrl: string, pid: number): Promise<{ rssMb: number; heapMb: number }> {
  const inspector = await connectInspector(wsUrl);
  try {
    // Twice: what the first one's finalizers let go is collected by the second.
    await inspector.call('HeapProfiler.collectGarbage');
    await inspector.call('HeapProfiler.collectGarbage');
    const heap = await inspector.call<{ usedSize: number }>('Runtime.getHeapUsage');
    await new Promise((r) => setTimeout(r, 500));
    return { rssMb: residentBytes(pid) / MB, heapMb: heap.usedSize / MB };
  } finally {
    inspector.close();
  }
}

/**
 * The process's descriptors by what they are, so a growth says where it is:
 * TCP sockets by their peer's port (`tcp:6379`), unix sockets, pipes, files.
 */
export function fdKinds(pid: number): Record<string, number> {
  const tcp = tcpSockets();
  const targets = fdTargets(pid);
  const mine = targets.map((target) => tcp.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? ''));
  const listening = new Set(mine.filter((x) => x?.peer === 0).map((x) => x!.local));
  const kinds: Record<string, number> = {};
  targets.forEach((target, i) => {
    const socket = mine[i];
    let kind = target.replace(/\[\d+\]$/, '');
    if (socket)
      kind = socket.peer === 0 ? `tcp listening :${socket.local}` : listening.has(socket.local) ? `tcp in to :${socket.local}` : `tcp out to :${socket.peer}`;
    else if (kind === 'socket:') kind = 'unix socket';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  });
  return kinds;
}

function fdTargets(pid: number): string[] {
  const targets: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      targets.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed while we looked
    }
  }
  return targets;
}

/** The local ports of the process's connected TCP sockets: what pg_stat_activity calls a session's client_port. */
function localPorts(pid: number): Set<number> {
  const tcp = tcpSockets();
  const ports = new Set<number>();
  for (const target of fdTargets(pid)) {
    const socket = tcp.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
    if (socket?.peer) ports.add(socket.local);
  }
  return ports;
}

/** Socket inode → its local and peer port, for every TCP socket on the machine (/proc/net/tcp, tcp6; peer 0: listening). */
function tcpSockets(): Map<string, { local: number; peer: number }> {
  const sockets = new Map<string, { local: number; peer: number }>();
  const portOf = (address: string | undefined) => parseInt(address?.split(':')[1] ?? '', 16);
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields[9]) sockets.set(fields[9], { local: portOf(fields[1]), peer: portOf(fields[2]) });
    }
  }
  return sockets;
}

export interface RedisKind {
  keys: number;
  bytes: number;
  stream: boolean;
  /** A stream's entries (XLEN), summed over the kind's keys. */
  entries: number;
}

export interface RedisFigures {
  keys: number;
  /** INFO memory's used_memory: everything the server holds, buffers and scripts too. */
  usedMemoryBytes: number;
  /** The keys by kind: a key name with its game ids and numbers taken out (`{run}:start-runtime:{game}`). */
  kinds: Record<string, RedisKind>;
}

/** A key's kind: the run's id, game ids, ids and numbers replaced, so one kind holds the keys of every game and operation alike. */
export function keyKind(key: string, run: string): string {
  return key
    .replace(new RegExp(`${run}-g\\d+`, 'g'), '{game}')
    .replaceAll(run, '{run}')
    .replace(/\b[0-9a-f]{12,}\b/g, '{id}')
    .replace(/\d+/g, '{n}');
}

/** Every key of the Redis (the soak's own: nobody else uses it), by kind, with its memory. */
export async function redisFigures(redis: Redis, run: string): Promise<RedisFigures> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const kinds: Record<string, RedisKind> = {};
  for (let i = 0; i < keys.length; i += 500) {
    const slice = keys.slice(i, i + 500);
    const typed = await pipelined(redis, slice, (p, key) => p.type(key));
    const sized = await pipelined(redis, slice, (p, key) => p.memory('USAGE', key, 'SAMPLES', 0));
    const lengths = await pipelined(redis, slice, (p, key, j) => (typed[j] === 'stream' ? p.xlen(key) : p.exists(key)));
    slice.forEach((key, j) => {
      const stream = typed[j] === 'stream';
      const kind = (kinds[keyKind(key, run)] ??= { keys: 0, bytes: 0, stream, entries: 0 });
      kind.keys++;
      kind.bytes += Number(sized[j] ?? 0);
      if (stream) kind.entries += Number(lengths[j] ?? 0);
    });
  }
  const info = await redis.info('memory');
  const usedMemoryBytes = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
  return { keys: keys.length, usedMemoryBytes, kinds };
}

/** The cap BullMQ trims a queue's events stream to, as the queue recorded it in its meta hash. */
export async function eventsStreamCap(redis: Redis, run: string, queue: string): Promise<number | null> {
  const cap = await redis.hget(`${run}:${queue}:meta`, 'opts.maxLenEvents');
  return cap === null ? null : Number(cap);
}

type Pipeline = ReturnType<Redis['pipeline']>;

async function pipelined(redis: Redis, keys: string[], add: (p: Pipeline, key: string, index: number) => unknown): Promise<unknown[]> {
  const pipeline = redis.pipeline();
  keys.forEach((key, index) => add(pipeline, key, index));
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => (error ? null : value));
}

/** Sessions on the system's database, by the process that holds each (by its client port); `other`: neither of the roles (the soak's own). */
export async function pgSessions<R extends string>(sql: Sql, pids: Record<R, number>): Promise<Record<R | 'other', number>> {
  const rows = await sql<Array<{ port: number }>>`select client_port as port from pg_stat_activity where datname = current_database()`;
  const roles = Object.keys(pids) as R[];
  const ports = roles.map((role) => [role, localPorts(pids[role])] as const);
  const counts = Object.fromEntries([...roles, 'other'].map((role) => [role, 0])) as Record<R | 'other', number>;
  for (const { port } of rows) counts[ports.find(([, mine]) => mine.has(port))?.[0] ?? 'other']++;
  return counts;
}
