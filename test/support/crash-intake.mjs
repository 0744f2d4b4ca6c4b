/**
 * Test-only intake for the at-most-once fault test (test/faults/intake-kill):
 * SIGKILLs itself right after the named game's entry was enqueued and before
 * its XACK, once per game (a marker file remembers, and holds the entry id),
 * so the entry stays pending though its start was accepted. Production code
 * and configuration know nothing of it: it hands its hook to startSystem.
 *
 * Plain ESM on the compiled build, as the Procfile runs the real intake:
 *   node test/support/crash-intake.mjs
 * with the intake's RTMANAGER_* environment plus
 *   RTMANAGER_TEST_CRASH_GAME=game  RTMANAGER_TEST_CRASH_MARKER_DIR=/absolute/dir
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { startSystem, stopOnSignals } from '../../dist/composition/index.js';
import { bootConfigOrExit } from '../../dist/config.js';
import { createLogger } from '../../dist/infra/logger.js';

const crashGame = process.env.RTMANAGER_TEST_CRASH_GAME ?? '';
const markerDir = process.env.RTMANAGER_TEST_CRASH_MARKER_DIR ?? '';
if (crashGame.trim() === '' || !path.isAbsolute(markerDir)) {
  process.stderr.write(
    `crash-intake: needs RTMANAGER_TEST_CRASH_GAME=game and an absolute RTMANAGER_TEST_CRASH_MARKER_DIR (got ${JSON.stringify({ crashGame, markerDir })})\n`,
  );
  process.exit(1);
}

/** @type {import('../../src/jobs/intake.js').AfterEnqueueHook} */
const afterEnqueue = (entryId, gameId) => {
  if (gameId !== crashGame) return;
  const marker = path.join(markerDir, `${gameId}.after_enqueue`);
  if (existsSync(marker)) return;
  writeFileSync(marker, entryId);
  process.kill(process.pid, 'SIGKILL');
};

const config = bootConfigOrExit(process.env);
const logger = createLogger(config.logLevel);
stopOnSignals(await startSystem(config, 'intake', logger, { afterEnqueue }), logger);
