/**
 * Ends of an accepted request that no lifecycle pipeline reaches (contract
 * §14: every accepted request ends with exactly one terminal audit row):
 * a pending operation made moot by a later one (`superseded`), one that
 * waited its whole RTMANAGER_LEASE_WAIT_MS for its game (`conflict`), and a
 * request that joined another's pending operation (it ends as that one did,
 * with a row of its own). Each is recorded as the pipelines record theirs.
 */
import { isRetryableFailure, LEASE_BUSY_MESSAGE, leaseConflictOfRow } from './errors.js';
import type { FailureCode } from './errors.js';
import type { LifecycleDeps, LifecycleResult } from './lifecycle.js';
import type { OpKind, OpSource } from './model.js';
import { beginOperation } from './operation.js';
import { bestEffortAppend, recordFailure } from './outcomes.js';

/** An accepted request as its audit row names it. */
export interface AcceptedRequest {
  gameId: string;
  /** '' for stop and restart: they name no image of their own. */
  imageRef: string;
  opSource: OpSource;
  sourceRef: string;
}

/** The operation never ran: `reason` names the later request that made it moot. Never retried, no notification. */
export function endSuperseded(deps: LifecycleDeps, kind: OpKind, request: AcceptedRequest, reason: string): Promise<LifecycleResult> {
  const op = beginOperation(deps, kind, request, {});
  return recordFailure(op, { step: 'await_turn', code: 'superseded', message: `superseded: ${reason}` });
}

/**
 * The operation waited its whole limit for its game (contract §10): the
 * lease-busy conflict, recorded. Retryable for its caller, as §4 says; the
 * job itself is not retried (it would only wait again).
 */
export function endWaitedTooLong(deps: LifecycleDeps, kind: OpKind, request: AcceptedRequest): Promise<LifecycleResult> {
  const op = beginOperation(deps, kind, request, {});
  return recordFailure(op, { step: 'await_turn', code: 'conflict', message: LEASE_BUSY_MESSAGE, lease: 'lease_busy' });
}

/**
 * A request that joined a pending operation (same kind, same image, nothing
 * accepted after it) ends as that operation ended: its own audit row, under
 * its own op source and source ref, with the carrier's outcome.
 */
export async function recordJoinedEnd(deps: LifecycleDeps, kind: OpKind, request: AcceptedRequest, result: LifecycleResult, carrier: string): Promise<void> {
  const op = beginOperation(deps, kind, request, {});
  const containerId = result.outcome === 'success' ? (result.record?.currentContainerId ?? '') : '';
  // A success says whose operation served it, so the log tells the one that ran from those that rode on it.
  const errorMessage = result.outcome === 'success' ? `${JOINED_NOTE} ${carrier}` : result.errorMessage;
  await bestEffortAppend(op, { containerId, outcome: result.outcome, errorCode: result.errorCode ?? '', errorMessage });
}

/** How a joined request's success row begins its message: `joined the operation of {carrier source ref}`. */
export const JOINED_NOTE = 'joined the operation of';

/**
 * The end an attempt already wrote, if it did: a job BullMQ runs again after a
 * stall (its worker died, or Redis lost the finish it had recorded) re-runs
 * the same attempt (`job:{id}#{n}` in its source ref), and one whose audit row
 * exists has ended; running it again would do its work, its row and its
 * notification twice. The Result is rebuilt from that row.
 */
export async function endedAttempt(deps: LifecycleDeps, kind: OpKind, gameId: string, sourceRef: string): Promise<LifecycleResult | null> {
  const rows = await deps.operations.listByGame(gameId, ATTEMPT_ROWS_LOOKED_AT, kind);
  const row = rows.find((r) => r.sourceRef === sourceRef);
  if (!row) return null;
  if (row.outcome === 'success') {
    const errorCode = row.errorCode === 'replay_no_op' ? 'replay_no_op' : null;
    return { outcome: 'success', errorCode, errorMessage: '', record: await deps.records.get(gameId), retryable: false };
  }
  const code = row.errorCode as FailureCode;
  const lease = leaseConflictOfRow(row);
  const retryable = isRetryableFailure(code, lease);
  return { outcome: 'failure', errorCode: code, errorMessage: row.errorMessage, record: null, retryable, ...(lease ? { lease } : {}) };
}

/** An attempt's own row is among its game's newest of its kind: a game's requests are few between two runs of one attempt. */
const ATTEMPT_ROWS_LOOKED_AT = 20;
