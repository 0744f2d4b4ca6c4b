/**
 * What every lifecycle operation shares: its context, the steps that wrap
 * its work, the lease, the audit row, the best-effort side effects, and the
 * Result it ends in. A lifecycle file (start.ts, stop.ts, …) reads as its own
 * list of steps on top of this.
 */
import { errorMessage, isDockerDeadline, isRetryableFailure, LEASE_BUSY_MESSAGE } from './errors.js';
import type { FailureCode } from './errors.js';
import type { Failure, LifecycleDeps, LifecycleHooks, LifecycleResult, StepName } from './lifecycle.js';
import type { HealthEventType, NotificationType, OpKind, OpSource, RuntimeRecord } from './model.js';
import { failureIntent } from './notification-intents.js';
import type { Logger } from './ports.js';
import { withTimeout } from './timeout.js';

/** Bounds cleanup calls (lease release, rollback), which run even after a throw. */
export const CLEANUP_TIMEOUT_MS = 5_000;

export interface Operation {
  readonly deps: LifecycleDeps;
  readonly kind: OpKind;
  readonly gameId: string;
  /** What the audit row names; '' until known (a stop learns it from the record). */
  readonly imageRef: string;
  readonly opSource: OpSource;
  readonly sourceRef: string;
  /** Null: a fresh random token per acquisition. */
  readonly leaseToken: string | null;
  readonly hooks: LifecycleHooks;
  readonly startedAt: Date;
  readonly log: Logger;
  /**
   * The step under way: names an unexpected throw. Shared by the views of
   * one operation (see `withImage`), so whichever view runs a step, the
   * operation knows where it is.
   */
  readonly progress: { step: StepName };
}

export function beginOperation(
  deps: LifecycleDeps,
  kind: OpKind,
  args: { gameId: string; imageRef: string; opSource: OpSource; sourceRef: string; leaseToken?: string },
  hooks: LifecycleHooks,
): Operation {
  const log = deps.logger.child({ op_kind: kind, game_id: args.gameId, op_source: args.opSource, source_ref: args.sourceRef });
  return {
    deps,
    kind,
    gameId: args.gameId,
    imageRef: args.imageRef,
    opSource: args.opSource,
    sourceRef: args.sourceRef,
    leaseToken: args.leaseToken ?? null,
    hooks,
    startedAt: deps.clock.now(),
    log,
    progress: { step: 'validate_input' },
  };
}

/** The same operation, now known to concern `imageRef` (its audit row will say so). */
export function withImage(op: Operation, imageRef: string): Operation {
  return { ...op, imageRef };
}

/** The same operation under another audit kind (the reconciler adopting what it observed). */
export function asKind(op: Operation, kind: OpKind): Operation {
  return { ...op, kind };
}

/** Enters a named step that has no work of its own to wrap: it shows in the debug log and lets tests stop there. */
export async function step(op: Operation, name: StepName): Promise<void> {
  op.progress.step = name;
  op.log.debug({ step: name }, `${op.kind} step`);
  await op.hooks.onStep?.(name);
}

/** How a step's throw becomes its Failure. */
export interface OnThrow {
  code: FailureCode;
  /** Put before the thrown message: `load runtime record: connection refused`. */
  context?: string;
  notify?: NotificationType;
  containerId?: string;
}

export type StepOutcome<T> = { ok: true; value: T } | { ok: false; failure: Failure };

/**
 * One named step: enters it, runs its work, and turns a throw into the
 * step's Failure (a value, recorded by the caller). A Docker call past its
 * deadline is no refusal — the daemon may yet do what was asked — so it is a
 * retryable service_unavailable with no admin notification, whatever the
 * step's own code; the re-run converges on what the daemon did.
 */
export async function runStep<T>(op: Operation, name: StepName, work: () => Promise<T>, onThrow: OnThrow): Promise<StepOutcome<T>> {
  await step(op, name);
  return attempt(op, work, onThrow);
}

/** More work inside the step under way (a second call the step makes), its throw turned into that step's Failure. */
export async function attempt<T>(op: Operation, work: () => Promise<T>, onThrow: OnThrow): Promise<StepOutcome<T>> {
  const name = op.progress.step;
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    const message = errorMessage(error);
    if (isDockerDeadline(error)) {
      return { ok: false, failure: { step: name, code: 'service_unavailable', message: `${name}: ${message}`, ...containerOf(onThrow) } };
    }
    return {
      ok: false,
      failure: {
        step: name,
        code: onThrow.code,
        message: onThrow.context ? `${onThrow.context}: ${message}` : message,
        ...(onThrow.notify ? { notify: onThrow.notify } : {}),
        ...containerOf(onThrow),
      },
    };
  }
}

function containerOf(onThrow: OnThrow): { containerId?: string } {
  return onThrow.containerId ? { containerId: onThrow.containerId } : {};
}

/** What a lease that could not be had turns into, for each kind of caller. */
export interface LeaseRefused<T> {
  busy(): Promise<T>;
  unavailable(error: unknown): Promise<T>;
}

/**
 * Runs `body` holding the game's lease, released by its holder only, even
 * when `body` throws. The caller says what a busy lease or a Redis failure
 * means to it: a lifecycle records a failure, the reconciler skips the game.
 */
export async function holdingLease<T>(op: Operation, body: () => Promise<T>, refused: LeaseRefused<T>): Promise<T> {
  const { deps } = op;
  await step(op, 'acquire_lease');
  const token = op.leaseToken ?? deps.newToken();
  const leaseStartedAt = deps.clock.now();
  let acquired: boolean;
  try {
    acquired = await deps.leases.tryAcquire(op.gameId, token, deps.settings.leaseTtlMs);
  } catch (error) {
    return refused.unavailable(error);
  } finally {
    deps.telemetry.recordLeaseAcquireLatency((deps.clock.now().getTime() - leaseStartedAt.getTime()) / 1000);
  }
  if (!acquired) return refused.busy();
  try {
    return await body();
  } finally {
    await releaseLease(op, token);
  }
}

/**
 * A lifecycle under the game's lease: a busy lease is a retryable conflict,
 * a Redis failure service_unavailable, and every outcome a recorded Result.
 */
export function underLease(op: Operation, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  return holdingLease(op, () => guarded(op, body), {
    busy: () => recordFailure(op, { step: 'acquire_lease', code: 'conflict', message: LEASE_BUSY_MESSAGE, leaseBusy: true }),
    unavailable: (error) => recordFailure(op, { step: 'acquire_lease', code: 'service_unavailable', message: `acquire game lease: ${errorMessage(error)}` }),
  });
}

/** A step that throws where no branch expects it still ends in a Result. */
export async function guarded(op: Operation, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  try {
    return await body();
  } catch (error) {
    const step = op.progress.step;
    return recordFailure(op, { step, code: 'internal_error', message: `${step}: ${errorMessage(error)}` });
  }
}

async function releaseLease(op: Operation, token: string): Promise<void> {
  try {
    await withTimeout(op.deps.leases.release(op.gameId, token), CLEANUP_TIMEOUT_MS);
  } catch (error) {
    // The lease expires after its TTL; nothing else to do.
    op.log.warn({ err: errorMessage(error) }, 'release game lease');
  }
}

export async function recordFailure(op: Operation, failure: Failure): Promise<LifecycleResult> {
  await bestEffortAppend(op, {
    containerId: failure.containerId ?? '',
    outcome: 'failure',
    errorCode: failure.code,
    errorMessage: failure.message,
  });
  if (failure.notify) await bestEffortNotify(op, failure.notify, failure);
  if (op.kind === 'start') op.deps.telemetry.recordStartOutcome('failure', failure.code, op.opSource);
  op.log.warn(
    { step: failure.step, image_ref: op.imageRef, error_code: failure.code, error_message: failure.message },
    `runtime ${op.kind} failed`,
  );
  return {
    outcome: 'failure',
    errorCode: failure.code,
    errorMessage: failure.message,
    record: null,
    retryable: isRetryableFailure(failure.code, failure.leaseBusy ?? false),
  };
}

export async function recordSuccess(
  op: Operation,
  args: { record: RuntimeRecord | null; containerId: string; replay: boolean; message: string },
): Promise<LifecycleResult> {
  const errorCode = args.replay ? 'replay_no_op' : null;
  await bestEffortAppend(op, { containerId: args.containerId, outcome: 'success', errorCode: errorCode ?? '', errorMessage: '' });
  if (op.kind === 'start') op.deps.telemetry.recordStartOutcome('success', errorCode ?? '', op.opSource);
  op.log.info({ step: op.progress.step, container_id: args.containerId, image_ref: op.imageRef }, args.message);
  return { outcome: 'success', errorCode, errorMessage: '', record: args.record, retryable: false };
}

export async function bestEffortAppend(
  op: Operation,
  entry: { containerId: string; outcome: 'success' | 'failure'; errorCode: string; errorMessage: string },
): Promise<void> {
  try {
    await op.deps.operations.append({
      gameId: op.gameId,
      opKind: op.kind,
      opSource: op.opSource,
      sourceRef: op.sourceRef,
      imageRef: op.imageRef,
      startedAt: op.startedAt,
      finishedAt: op.deps.clock.now(),
      ...entry,
    });
  } catch (error) {
    op.log.error({ outcome: entry.outcome, error_code: entry.errorCode, err: errorMessage(error) }, 'append operation log');
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
