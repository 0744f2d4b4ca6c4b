/**
 * `npm run db:migrate`: applies ./drizzle to RTMANAGER_DATABASE_URL, or to the
 * embedded PGlite directory (RTMANAGER_PGLITE_DIR, default var/pglite) when
 * no URL is set. Exit 0 when the schema is current, 1 on any failure.
 */
import { DEFAULT_PGLITE_DIR, openDatabase } from './client.js';
import { migrateDatabase } from './migrate.js';
import { errorMessage } from '../../domain/errors.js';

async function main(): Promise<void> {
  const url = process.env.RTMANAGER_DATABASE_URL || undefined;
  const dataDir = process.env.RTMANAGER_PGLITE_DIR || DEFAULT_PGLITE_DIR;
  const handle = await openDatabase(url, { dataDir });
  try {
    await migrateDatabase(handle);
  } finally {
    await handle.close();
  }
  process.stdout.write(`migrations applied (${handle.kind}${handle.kind === 'pglite' ? ` at ${dataDir}` : ''})\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`db:migrate failed: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
