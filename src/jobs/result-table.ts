/**
 * THE table from a lifecycle Result to a BullMQ job's fate. A failed job
 * carries its Result as the JSON of its failure message, so the poll API can
 * answer with the same structured Result whether the job completed or failed.
 */
import { UnrecoverableError } from 'bullmq';
import type { RuntimeRecord, StoredOperationEntry } from '../domain/model.js';
import type { LifecycleResult } from '../domain/lifecycle.js';
import type { ResultJson } from './json.js';
import { recordToJson, resultToJson } from './json.js';

export type JobFate = 'complete' | 'retry' | 'fail';

export function fateOf(result: LifecycleResult): JobFate {
  if (result.outcome === 'success') return 'complete';
  return result.retryable ? 'retry' : 'fail';
}

/** Returns the job's return value, or throws the error that retries or fails it. */
export function settle(result: LifecycleResult): ResultJson {
  const json = resultToJson(result);
  switch (fateOf(result)) {
    case 'complete':
      return json;
    case 'retry':
      throw new Error(JSON.stringify(json));
    case 'fail':
      throw new UnrecoverableError(JSON.stringify(json));
  }
}

/** Fails the job without a retry whatever the Result says: its waiting is over (job-wait.ts). */
export function failForGood(result: LifecycleResult): never {
  throw new UnrecoverableError(JSON.stringify(resultToJson(result)));
}

/**
 * A job whose payload does not parse fails for good with `start_config_invalid`:
 * settled like any other Result, so its poller reads the code from the failed
 * reason rather than guessing it from the message.
 */
export function payloadRejected(errorMessage: string): LifecycleResult {
  return { outcome: 'failure', errorCode: 'start_config_invalid', errorMessage, record: null, retryable: false };
}

/**
 * The Result a finished job shows its poller. A failed job whose reason is
 * not one of our Results (stalled too often, a processor crash) still
 * answers with one, so a poller never sees a failed job without a code.
 * Pending jobs have no Result yet: null.
 */
export function resultOfJob(job: { state: string; returnvalue: unknown; failedReason: string | undefined }): ResultJson | null {
  if (job.state === 'completed') return job.returnvalue as ResultJson;
  if (job.state !== 'failed') return null;
  return (
    resultFromFailure(job.failedReason) ?? {
      outcome: 'failure',
      error_code: 'internal_error',
      error_message: job.failedReason ?? 'the job failed without a reason',
      record: null,
      retryable: false,
    }
  );
}

/** The Result a failed job (or a failed attempt) carried, or null when its reason is not one of ours. */
export function resultFromFailure(failedReason: string | undefined): ResultJson | null {
  if (!failedReason?.startsWith('{')) return null;
  try {
    const parsed = JSON.parse(failedReason) as Partial<ResultJson>;
    return parsed.outcome ? (parsed as ResultJson) : null;
  } catch {
    return null;
  }
}

/**
 * The Result of a job BullMQ no longer keeps, rebuilt from its audit row.
 * The row holds no record: a success shows the game's record as it is now.
 */
export function resultOfOperation(entry: StoredOperationEntry, record: RuntimeRecord | null): ResultJson {
  return {
    outcome: entry.outcome,
    error_code: entry.errorCode === '' ? null : entry.errorCode,
    error_message: entry.errorMessage,
    record: entry.outcome === 'success' && record ? recordToJson(record) : null,
    retryable: false,
  };
}
