/**
 * Throwaway databases for tests: a uniquely named database on the test
 * Postgres cluster, or an in-memory PGlite, each migrated with ./drizzle.
 */
import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import { openDatabase, type Database, type DatabaseHandle, type PgliteHandle } from '../../src/infra/db/client.js';
import { migrateDatabase } from '../../src/infra/db/migrate.js';

export interface TestDatabase<H extends DatabaseHandle = DatabaseHandle> {
  url: string;
  handle: H;
  db: Database;
  close(): Promise<void>;
}

function clusterUrl(): string {
  return process.env.RTM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:15432/postgres';
}

/** The cluster's URL with another database name; query (e.g. `?host=`) kept. */
export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function asAdmin<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
  const handle = await openDatabase(clusterUrl(), { dataDir: '', maxConnections: 2 });
  if (handle.kind !== 'postgres') throw new Error('test cluster URL did not open a Postgres connection');
  try {
    return await work(handle.client);
  } finally {
    await handle.close();
  }
}

export interface TestDatabaseOptions {
  /** Create the database with this ICU locale as its default collation (e.g. `en`), to test locale independence. */
  icuLocale?: string;
  /** false: leave the database empty, for tests of migration itself. Default true. */
  migrate?: boolean;
  /** RTMANAGER_DB_STATEMENT_TIMEOUT_MS of the handle (the migration is not bounded by it); unset: no bound. */
  statementTimeoutMs?: number;
}

/** A new database `rtm_test_…` on the test cluster, migrated unless told not to; `close()` drops it even with sessions left open. */
export async function createTestDatabase(opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `rtm_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  const locale = opts.icuLocale ? ` template template0 locale_provider icu icu_locale '${opts.icuLocale.replace(/'/g, "''")}'` : '';
  await asAdmin((sql) => sql.unsafe(`create database "${name}"${locale}`));
  const url = withDatabaseName(clusterUrl(), name);
  let handle: DatabaseHandle | undefined;
  try {
    handle = await openDatabase(url, { dataDir: '', ...(opts.statementTimeoutMs ? { statementTimeoutMs: opts.statementTimeoutMs } : {}) });
    if (opts.migrate !== false) await migrateDatabase(handle);
  } catch (error) {
    await handle?.close();
    await dropDatabase(name);
    throw error;
  }
  const opened = handle;
  return {
    url,
    handle: opened,
    db: opened.db,
    close: async () => {
      await opened.close();
      await dropDatabase(name);
    },
  };
}

function dropDatabase(name: string): Promise<unknown> {
  return asAdmin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
}

let migratedTemplate: Promise<Blob> | undefined;

/** initdb + migrate once per test process, then every PGlite starts from that image. */
function pgliteTemplate(): Promise<Blob> {
  migratedTemplate ??= (async () => {
    const handle = await openDatabase(undefined, { dataDir: 'memory://' });
    if (handle.kind !== 'pglite') throw new Error('expected PGlite');
    try {
      await migrateDatabase(handle);
      return await handle.client.dumpDataDir('none');
    } finally {
      await handle.close();
    }
  })();
  return migratedTemplate;
}

/** An in-memory PGlite holding the migrated schema; `statementTimeoutMs` as for createTestDatabase. */
export async function createTestPglite(opts: { statementTimeoutMs?: number } = {}): Promise<TestDatabase<PgliteHandle>> {
  const handle = await openDatabase(undefined, { dataDir: 'memory://', loadDataDir: await pgliteTemplate(), ...opts });
  if (handle.kind !== 'pglite') throw new Error('expected PGlite');
  return { url: 'memory://', handle, db: handle.db, close: () => handle.close() };
}
