/**
 * Process entry: `tsx src/main.ts web|worker|intake|all`. Boot fails fast on
 * bad configuration (exit 1, one line per variable); SIGTERM/SIGINT stop it
 * gracefully (see stopOnSignals).
 */
import type { Role } from './composition/index.js';
import { bootConfigOrExit } from './config.js';
import { createLogger } from './infra/logger.js';

const ROLES = ['web', 'worker', 'intake', 'all'] as const satisfies readonly Role[];

const arg = process.argv[2] ?? 'all';
if (!(ROLES as readonly string[]).includes(arg)) {
  process.stderr.write(`usage: main.ts ${ROLES.join('|')} (got ${JSON.stringify(arg)})\n`);
  process.exit(1);
}
const role = arg as Role;
const config = bootConfigOrExit(process.env);
const logger = createLogger(config.logLevel);

try {
  // Imported after the configuration is known good: a bad variable fails
  // boot in milliseconds, before any client library is even loaded.
  const { startSystem, stopOnSignals } = await import('./composition/index.js');
  stopOnSignals(await startSystem(config, role, logger), logger);
} catch (error) {
  logger.error({ err: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 'boot failed');
  process.exit(1);
}
