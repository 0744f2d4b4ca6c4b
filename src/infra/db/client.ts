/**
 * One database handle for both back ends: a Postgres server over postgres.js
 * when a URL is configured, else PGlite (Postgres compiled to WASM) embedded
 * in a local directory. Adapters see only `Database`, the query API the two
 * drizzle drivers share; the migrator is the one place that tells them apart.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { CallDeadline } from './deadline.js';
import { schema, type Schema } from './schema.js';
import { withTimeout } from '../../domain/timeout.js';

export type Database = PgDatabase<PgQueryResultHKT, Schema>;

interface HandleCommon {
  /** What the adapters bound each call with (deadline.ts); null when opened without `statementTimeoutMs`. */
  deadline: CallDeadline | null;
  /** Resolves when the database answers a query within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export type PostgresHandle = HandleCommon & {
  kind: 'postgres';
  db: PostgresJsDatabase<Schema>;
  client: postgres.Sql;
  /**
   * A second, small pool (`connections`, default 2) on the same server whose
   * sessions have no statement or lock timeout: the migrator's (migrate.ts).
   * The caller ends it. One connection is one session: hold a session-level
   * lock on such a pool, not on `reserve()` (see fetch_types below).
   */
  openUnbounded(connections?: number): postgres.Sql;
};
export type PgliteHandle = HandleCommon & { kind: 'pglite'; db: PgliteDatabase<Schema>; client: PGlite };
export type DatabaseHandle = PostgresHandle | PgliteHandle;

export interface OpenDatabaseOptions {
  /** PGlite's data directory when no URL is given; `memory://` keeps it in memory. */
  dataDir: string;
  /** PGlite only: start from this `dumpDataDir()` tarball instead of initdb (tests: ~0.8 s instead of ~4 s). */
  loadDataDir?: Blob;
  /** postgres.js pool size; at least 2. */
  maxConnections?: number;
  /**
   * RTMANAGER_DB_STATEMENT_TIMEOUT_MS: on a server, each session's
   * `statement_timeout` and `lock_timeout`, and (on both back ends) the
   * adapters' own bound on waiting for an answer. Unset: no bound.
   */
  statementTimeoutMs?: number;
}

const DEFAULT_PING_TIMEOUT_MS = 2_000;

export async function openDatabase(url: string | undefined, opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const ms = opts.statementTimeoutMs;
  return url
    ? openPostgres(url, opts.maxConnections ?? 10, ms)
    : openPglite(opts.dataDir, opts.loadDataDir, ms === undefined ? null : { statementMs: ms, waitMs: ms });
}

/**
 * The client gives up a second after the server's cancel was due: in the
 * ordinary case the server's 57014 comes first, and a statement it cancelled
 * is rolled back for certain, where one the client gave up on may yet commit.
 * The second is room for what the server's clock does not count: opening a
 * connection for the call (measured: over 50 ms on a busy machine) and the
 * cancel's way back.
 */
const SERVER_CANCEL_GRACE_MS = 1_000;

function serverDeadline(ms: number): CallDeadline {
  return { statementMs: ms, waitMs: ms + SERVER_CANCEL_GRACE_MS };
}

function openPostgres(url: string, maxConnections: number, statementTimeoutMs: number | undefined): Promise<PostgresHandle> {
  const { url: cleanUrl, socketPath } = splitSocketHost(url);
  const connect = (max: number, applicationName: string, timeouts: Partial<postgres.ConnectionParameters>) =>
    postgres(cleanUrl, {
      max,
      connect_timeout: 10,
      // Timestamps are parsed by drizzle from text; a UTC session keeps that text
      // free of historical offsets with seconds, which Date cannot parse.
      connection: { TimeZone: 'UTC', application_name: applicationName, ...timeouts },
      // "schema already exists, skipping" on every boot's migration is noise.
      onnotice: () => undefined,
      // No catalog query on each new connection: postgres.js 3.4.9 starts it and drops
      // its promise, so a connection that dies during it (Postgres going down as a
      // worker reconnects) rejects with nobody listening and the process exits on the
      // unhandled rejection (seen in the Postgres-outage fault test;
      // porsager/postgres#1192). The schema has no array columns to parse. Without
      // it, `reserve()` never resolves when it has to open a connection (3.4.9
      // hands a new connection to its reserver only after that catalog query), so
      // nothing here reserves: a session is a pool of one (openUnbounded(1)).
      fetch_types: false,
      ...(socketPath ? { path: socketPath } : {}),
    });
  // lock_timeout beside statement_timeout: a lock wait is inside the statement's
  // time anyway, but this keeps it bounded in a session that lifts the other, and
  // names the lock in the error (55P03) when it is the lock that took the time.
  const timeouts = statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs, lock_timeout: statementTimeoutMs };
  const client = connect(Math.max(2, maxConnections), 'galaxy-rtmanager', timeouts);
  const db = drizzlePostgres({ client, schema });
  return Promise.resolve({
    kind: 'postgres',
    db,
    client,
    deadline: statementTimeoutMs === undefined ? null : serverDeadline(statementTimeoutMs),
    // Two: the advisory lock's holder and the migration's transaction.
    openUnbounded: (connections = 2) => connect(connections, 'galaxy-rtmanager-migrate', {}),
    ping: (timeoutMs = DEFAULT_PING_TIMEOUT_MS) => pingWithin(client`select 1`.execute(), timeoutMs, 'postgres ping'),
    close: () => client.end({ timeout: 5 }),
  });
}

/**
 * PGlite: one backend inside this process, with no second session to hold a
 * lock; its statement_timeout never fires (measured: pg_sleep(2) under 500 ms
 * runs 2 s, the event loop blocked meanwhile), so none is set. What can make a
 * call wait is another holding its one connection (a transaction): bounded by
 * `deadline` in the adapters.
 */
async function openPglite(dataDir: string, loadDataDir: Blob | undefined, deadline: CallDeadline | null): Promise<PgliteHandle> {
  const onDisk = !dataDir.startsWith('memory://');
  let unlock = (): Promise<void> => Promise.resolve();
  if (onDisk) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  // Loaded only here: a process on a Postgres server carries neither PGlite nor its driver (measured: about 20 MB resident).
  const [{ PGlite: Pglite }, { drizzle: drizzlePglite }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  let client: PGlite;
  try {
    client = await Pglite.create(dataDir, loadDataDir ? { loadDataDir } : {});
    await client.exec(`SET TIME ZONE 'UTC'`);
  } catch (error) {
    await unlock();
    throw error;
  }
  const db = drizzlePglite({ client, schema });
  return {
    kind: 'pglite',
    db,
    client,
    deadline,
    ping: (timeoutMs = DEFAULT_PING_TIMEOUT_MS) => pingWithin(client.query('select 1'), timeoutMs, 'pglite ping'),
    close: async () => {
      try {
        await client.close();
      } finally {
        await unlock();
      }
    },
  };
}

/**
 * PGlite is one Postgres backend inside this process, and it does not check
 * its own postmaster.pid: a second opener (another process, or a second open
 * here) would write the same files and corrupt them. So an exclusive lock file
 * holding our pid; one left by a dead process is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, '.rtmanager.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(lockPath, 'wx');
      await file.writeFile(String(process.pid));
      await file.close();
      return () => unlink(lockPath).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new Error(
        `embedded database ${dataDir} is in use by process ${holder}${holder === process.pid ? ' (this one)' : ''}: ` +
          'PGlite serves one process; run the roles together (`all`) or set RTMANAGER_DATABASE_URL',
      );
    }
    await unlink(lockPath).catch(() => undefined);
  }
  throw new Error(`could not lock embedded database ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * libpq accepts `postgres://user@/db?host=/run/postgresql&port=5433` for a
 * Unix socket; postgres.js would send `host` and `port` to the server as
 * startup parameters and be refused, and WHATWG URL refuses the empty host.
 * So the socket directory (and a query port) are taken out here, the host
 * filled in, and the socket path handed to postgres.js as `path`.
 */
export function splitSocketHost(url: string): { url: string; socketPath: string | null } {
  const queryAt = url.indexOf('?');
  if (queryAt < 0) return { url, socketPath: null };
  const query = new URLSearchParams(url.slice(queryAt + 1));
  const host = query.get('host');
  if (!host?.startsWith('/')) return { url, socketPath: null };
  query.delete('host');
  const queryPort = query.get('port');
  query.delete('port');
  const base = url.slice(0, queryAt).replace(/^([a-z]+:\/\/(?:[^@/]*@)?)(?=[:/]|$)/i, '$1localhost');
  const rest = query.toString();
  const cleaned = new URL(rest ? `${base}?${rest}` : base);
  const port = queryPort ?? (cleaned.port || '5432');
  return { url: cleaned.toString(), socketPath: `${host.replace(/\/+$/, '')}/.s.PGSQL.${port}` };
}

async function pingWithin(work: Promise<unknown>, timeoutMs: number, what: string): Promise<void> {
  await withTimeout(work, timeoutMs, `${what} timed out after ${timeoutMs} ms`);
}
