/**
 * Readiness of a process: named checks, each a promise that resolves when its
 * dependency answers. `/readyz` answers with their report; the gauge
 * `rtmanager_ready{check}` is fed from the same report, so the two never
 * disagree. Which checks a process has depends on the roles it runs (see
 * src/composition/index.ts).
 */
import { answerWithin } from './answers.js';
import { errorMessage } from '../domain/errors.js';

export type ReadinessChecks = Readonly<Record<string, () => Promise<void>>>;

export interface ReadinessReport {
  /** `ok`, or why the check failed. */
  checks: Record<string, string>;
  /** The names of the failing checks; empty when the process is ready. */
  failing: string[];
}

/** A dependency slower than this is reported as not ready. */
const READINESS_TIMEOUT_MS = 2_000;

export async function checkReadiness(checks: ReadinessChecks, timeoutMs = READINESS_TIMEOUT_MS): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => answerWithin(checks[name]!(), timeoutMs).then(() => 'ok', errorMessage)));
  return {
    checks: Object.fromEntries(names.map((name, i) => [name, results[i]!])),
    failing: names.filter((_, i) => results[i] !== 'ok'),
  };
}
