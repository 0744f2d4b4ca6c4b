/**
 * How an operation's end is told: its audit row, the admin notification of
 * a failure, the counted outcome, the warn or info line, and the health event
 * of a success. Side effects that must not change the outcome (audit, events,
 * notifications) are best effort: their failure is logged, never thrown.
 */
import { errorMessage, isRetryableFailure, truncateMessage } from './errors.js';
import type { Failure, LifecycleResult } from './lifecycle.js';
import type { HealthEventType, NotificationType, RuntimeRecord } from './model.js';
import { failureIntent } from './notification-intents.js';
import type { Operation } from './operation.js';
import { assertLeaseHeld } from './operation.js';

/**
 * Thrown by a `recordFailure` whose audit row is required (a refusal the
 * caller will retry until it is recorded) when the row could not be written.
 */
export class AuditRowNotWritten extends Error {
  override readonly name = 'AuditRowNotWritten';
}

/**
 * `audit: 'required'` (contract §14: a refused stream entry stays pending
 * until its row is written) throws AuditRowNotWritten when the row could not
 * be written — before the notification and the counter, so a request retried
 * until its row is written notifies and counts once, not once per attempt.
 */
export async function recordFailure(op: Operation, given: Failure, audit: 'best_effort' | 'required' = 'best_effort'): Promise<LifecycleResult> {
  // A verdict is only the operation's while it holds the lease (a lease's own failure is the exception).
  if (!given.lease) assertVerdictHeld(op);
  // The one place a failure's text leaves the domain: the audit row, the notification, the Result (API, job) and the log line.
  const failure = { ...given, message: truncateMessage(given.message) };
  const appended = await bestEffortAppend(op, {
    containerId: failure.containerId ?? '',
    outcome: 'failure',
    errorCode: failure.code,
    errorMessage: failure.message,
  });
  if (!appended.written && audit === 'required') {
    throw new AuditRowNotWritten(`the ${failure.code} refusal of ${op.kind} ${op.gameId} has no audit row yet: ${appended.error}`);
  }
  if (failure.notify) await bestEffortNotify(op, failure.notify, failure);
  if (op.kind === 'start') op.deps.telemetry.recordStartOutcome('failure', failure.code, op.opSource);
  op.log.warn({ step: failure.step, image_ref: op.imageRef, error_code: failure.code, error_message: failure.message }, `runtime ${op.kind} failed`);
  return {
    outcome: 'failure',
    errorCode: failure.code,
    errorMessage: failure.message,
    record: null,
    retryable: isRetryableFailure(failure.code, failure.lease),
    ...(failure.lease ? { lease: failure.lease } : {}),
  };
}

export async function recordSuccess(
  op: Operation,
  args: { record: RuntimeRecord | null; containerId: string; replay: boolean; message: string; note?: string; exitCode?: number | null },
): Promise<LifecycleResult> {
  assertVerdictHeld(op);
  const errorCode = args.replay ? 'replay_no_op' : null;
  // A success with a note (a start on the local copy because the registry was down) says so in its audit row;
  // one that stopped an engine, the code it exited with (contract §15).
  await bestEffortAppend(op, {
    containerId: args.containerId,
    outcome: 'success',
    errorCode: errorCode ?? '',
    errorMessage: args.note ?? '',
    exitCode: args.exitCode ?? null,
  });
  if (op.kind === 'start') op.deps.telemetry.recordStartOutcome('success', errorCode ?? '', op.opSource);
  op.log.info({ step: op.progress.step, container_id: args.containerId, image_ref: op.imageRef }, args.message);
  return { outcome: 'success', errorCode, errorMessage: '', record: args.record, retryable: false };
}

/** Never throws; says whether the row was written, for the callers that must know. */
export async function bestEffortAppend(
  op: Operation,
  entry: { containerId: string; outcome: 'success' | 'failure'; errorCode: string; errorMessage: string; exitCode?: number | null },
): Promise<{ written: true } | { written: false; error: string }> {
  try {
    await op.deps.operations.append({
      gameId: op.gameId,
      opKind: op.kind,
      opSource: op.opSource,
      sourceRef: op.sourceRef,
      imageRef: op.imageRef,
      imageDigest: op.imageDigest,
      startedAt: op.startedAt,
      finishedAt: op.deps.clock.now(),
      ...entry,
      exitCode: entry.exitCode ?? null,
    });
    return { written: true };
  } catch (error) {
    op.log.error({ outcome: entry.outcome, error_code: entry.errorCode, err: errorMessage(error) }, 'append operation log');
    // The cause, not a query wrapper's "Failed query: insert … params: …".
    return { written: false, error: errorMessage(error instanceof Error && error.cause !== undefined ? error.cause : error) };
  }
}

async function bestEffortNotify(op: Operation, type: NotificationType, failure: Failure): Promise<void> {
  const intent = failureIntent({
    type,
    gameId: op.gameId,
    imageRef: op.imageRef,
    errorCode: failure.code,
    errorMessage: failure.message,
    attemptedAt: op.deps.clock.now(),
  });
  try {
    await op.deps.notifications.publish(intent);
    op.deps.telemetry.recordNotificationIntent(type);
  } catch (error) {
    op.log.error({ notification_type: type, err: errorMessage(error) }, 'publish notification intent');
  }
}

export async function bestEffortHealthEvent(
  op: Operation,
  event: { containerId: string; eventType: HealthEventType; occurredAt: Date; details: Record<string, unknown> },
): Promise<void> {
  try {
    await op.deps.healthEvents.publish({ gameId: op.gameId, ...event });
    op.deps.telemetry.recordHealthEvent(event.eventType);
  } catch (error) {
    op.log.error({ step: op.progress.step, container_id: event.containerId, err: errorMessage(error) }, 'publish health event');
  }
}

/**
 * Under a lease, an operation's end is written only while the lease may
 * still be its own: a worker frozen past the lease's TTL (and its job's lock)
 * can wake inside a step and reach a verdict on what it read, while the job
 * has run again elsewhere and written its own end; both rows would stand.
 * Throws LeaseLost (guarded() ends the operation lease-lost, a retryable
 * conflict that names no verdict). Outside a lease there is nothing to check.
 */
function assertVerdictHeld(op: Operation): void {
  if (op.lease.held) assertLeaseHeld(op);
}
