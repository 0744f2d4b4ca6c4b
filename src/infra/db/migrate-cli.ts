/**
 * `npm run db:migrate`: applies ./drizzle to RTMANAGER_DATABASE_URL, or to the
 * embedded PGlite directory (RTMANAGER_PGLITE_DIR) when no URL is set. Both
 * are read through their declarations in src/config/, so their defaults and
 * rules are the service's own. Exit 0 when the schema is current, 1 on any failure.
 */
import { readVariable } from '../../config/declare.js';
import { DATABASE_URL, PGLITE_DIR } from '../../config/service-variables.js';
import { openDatabase } from './client.js';
import { migrateDatabase } from './migrate.js';
import { errorMessage } from '../../domain/errors.js';

async function main(): Promise<void> {
  const url = readVariable(DATABASE_URL, process.env);
  const dataDir = readVariable(PGLITE_DIR, process.env);
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
