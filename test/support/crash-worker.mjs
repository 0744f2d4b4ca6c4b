/**
 * Test-only worker for the crash-consistency tests (test/e2e/crash-steps,
 * test/faults/worker-freeze): SIGKILLs (or, with
 * RTMANAGER_TEST_CRASH_SIGNAL=SIGSTOP, freezes) itself at the named step of
 * the named game's start, once per game and step (a marker file remembers),
 * so a test can prove that every step is crash-consistent. Production code and configuration know nothing
 * of it: it hands its hook to startSystem.
 *
 * Plain ESM on the compiled build, as the Procfile runs the real worker:
 *   node test/support/crash-worker.mjs
 * with the worker's RTMANAGER_* environment plus
 *   RTMANAGER_TEST_CRASH_AT=game:step,…  RTMANAGER_TEST_CRASH_MARKER_DIR=/absolute/dir
 * and, to crash only in the jobs of one op source (the crash policy's restarts),
 *   RTMANAGER_TEST_CRASH_SOURCE=crash_policy
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { startSystem, stopOnSignals } from '../../dist/composition/index.js';
import { bootConfigOrExit } from '../../dist/config.js';
import { isKeyValueList, parseKeyValues } from '../../dist/domain/key-values.js';
import { createLogger } from '../../dist/infra/logger.js';

const crashAt = process.env.RTMANAGER_TEST_CRASH_AT ?? '';
const markerDir = process.env.RTMANAGER_TEST_CRASH_MARKER_DIR ?? '';
if (crashAt.trim() === '' || !isKeyValueList(crashAt, ':') || !path.isAbsolute(markerDir)) {
  process.stderr.write(
    `crash-worker: needs RTMANAGER_TEST_CRASH_AT=game:step,… and an absolute RTMANAGER_TEST_CRASH_MARKER_DIR (got ${JSON.stringify({ crashAt, markerDir })})\n`,
  );
  process.exit(1);
}
const stepOf = parseKeyValues(crashAt, ':');
const signal = process.env.RTMANAGER_TEST_CRASH_SIGNAL ?? 'SIGKILL';
const onlySource = process.env.RTMANAGER_TEST_CRASH_SOURCE ?? '';

/** @type {import('../../src/jobs/lifecycle-jobs.js').StepHook} */
const stepHook = (job, step) => {
  const gameId = String(job.data?.gameId ?? '');
  if (stepOf[gameId] !== step) return;
  if (onlySource !== '' && job.data?.opSource !== onlySource) return;
  const marker = path.join(markerDir, `${gameId}.${step}`);
  if (existsSync(marker)) return;
  writeFileSync(marker, String(Date.now()));
  process.kill(process.pid, signal);
};

const config = bootConfigOrExit(process.env);
const logger = createLogger(config.logLevel);
stopOnSignals(await startSystem(config, 'worker', logger, { stepHook }), logger);
