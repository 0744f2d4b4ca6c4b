import { fileURLToPath } from 'node:url';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { DatabaseHandle } from './client.js';

/** Relative to this module so `db:migrate` and the services work from any cwd. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle', import.meta.url));

/**
 * web, worker and intake each migrate at boot, possibly at the same moment
 * against one server; drizzle's migrator creates its schema and table outside
 * its transaction, so concurrent runs can collide. A session advisory lock,
 * held on a reserved connection, serialises them: the later ones find the
 * journal up to date and do nothing. PGlite is single-process and needs none.
 */
const MIGRATION_LOCK = 'galaxy-rtmanager:migrations';

export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  if (handle.kind === 'pglite') {
    await migratePglite(handle.db, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  const lockHolder = await handle.client.reserve();
  try {
    await lockHolder`select pg_advisory_lock(hashtext(${MIGRATION_LOCK}))`;
    try {
      await migratePostgres(handle.db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await lockHolder`select pg_advisory_unlock(hashtext(${MIGRATION_LOCK}))`;
    }
  } finally {
    lockHolder.release();
  }
}
