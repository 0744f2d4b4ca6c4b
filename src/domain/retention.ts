/**
 * Operation log retention (contract §13): audit rows older than the retention
 * period are deleted, a bounded batch at a time, so that one run never holds
 * a long lock on the table the lifecycles append to.
 */
import type { Clock, Logger, OperationLog } from './ports.js';

const DAY_MS = 86_400_000;

/** Rows per delete: a few milliseconds of work on the `finished_at` index. */
export const RETENTION_BATCH = 1_000;

export interface RetentionDeps {
  operations: OperationLog;
  clock: Clock;
  logger: Logger;
}

export interface RetentionSummary {
  /** Rows that finished before this were deleted. */
  before: Date;
  deleted: number;
  batches: number;
}

export async function pruneOperationLog(deps: RetentionDeps, retentionDays: number, batch = RETENTION_BATCH): Promise<RetentionSummary> {
  // Fixed once per run: rows that age past the cut while it runs wait for the next one.
  const before = new Date(deps.clock.now().getTime() - retentionDays * DAY_MS);
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const n = await deps.operations.deleteOlderThan(before, batch);
    deleted += n;
    batches += 1;
    if (n < batch) break;
  }
  deps.logger.info({ op_kind: 'operation_log_retention', before: before.toISOString(), deleted, batches }, 'operation log pruned');
  return { before, deleted, batches };
}
