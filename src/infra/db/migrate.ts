import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { DatabaseHandle } from './client.js';
import { schema } from './schema.js';

/** Relative to this module so `db:migrate` and the services work from any cwd. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle', import.meta.url));

/**
 * web, worker and intake each migrate at boot, possibly at the same moment
 * against one server; drizzle's migrator creates its schema and table outside
 * its transaction, so concurrent runs can collide. A session advisory lock,
 * held on a reserved connection, serialises them: the later ones find the
 * journal up to date and do nothing. PGlite is single-process and needs none.
 * The lock's session is a pool of one connection of its own (client.ts says
 * why not a reserved connection).
 *
 * Both run on a pool of their own without RTMANAGER_DB_STATEMENT_TIMEOUT_MS:
 * a migration may lawfully take longer than any query (an index built on a
 * big table), and the later processes wait on the advisory lock for as long
 * as the first one migrates. Cutting either would fail boot over and over.
 * The bound applies once the service serves.
 */
export const MIGRATION_LOCK = 'galaxy-rtmanager:migrations';

export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  if (handle.kind === 'pglite') {
    const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
    await migratePglite(handle.db, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  const lockHolder = handle.openUnbounded(1);
  const client = handle.openUnbounded();
  try {
    await lockHolder`select pg_advisory_lock(hashtext(${MIGRATION_LOCK}))`;
    try {
      await migratePostgres(drizzlePostgres({ client, schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await lockHolder`select pg_advisory_unlock(hashtext(${MIGRATION_LOCK}))`;
    }
  } finally {
    await Promise.all([lockHolder.end({ timeout: 5 }), client.end({ timeout: 5 })]);
  }
}
