/**
 * What every lifecycle operation shares: its context, the audit row, the
 * best-effort side effects, the lease, and the Result it ends in. A lifecycle
 * file (start.ts, stop.ts, …) reads as its own list of steps on top of this.
 */
import type { FailureCode } from './errors.js';
import { isRetryableFailure, LEASE_BUSY_MESSAGE } from './errors.js';
import type { HealthEventType, NotificationType, OpKind, OpSource, RuntimeRecord } from './model.js';
import { failureIntent } from './notification-intents.js';
import type { Logger } from './ports.js';
import type { StartDeps, StartHooks } from './start-types.js';

export type LifecycleDeps = StartDeps;

export type LifecycleResult =
  | { outcome: 'success'; errorCode: null | 'replay_no_op'; errorMessage: ''; record: RuntimeRecord | null; retryable: false }
  | { outcome: 'failure'; errorCode: FailureCode; errorMessage: string; record: null; retryable: boolean };

/** Bounds cleanup calls (lease release, rollback), which run even after a throw. */
export const CLEANUP_TIMEOUT_MS = 5_000;

export interface Failure {
  step: string;
  code: FailureCode;
  message: string;
  containerId?: string;
  notify?: NotificationType;
  leaseBusy?: boolean;
}

export interface Operation {
  deps: LifecycleDeps;
  kind: OpKind;
  gameId: string;
  imageRef: string;
  opSource: OpSource;
  sourceRef: string;
  /** Null: a fresh random token per acquisition. */
  leaseToken: string | null;
  /** The fencing number of the lease this operation holds (0 until it takes one): every record write carries it. */
  fence: number;
  hooks: StartHooks;
  startedAt: Date;
  log: Logger;
  /** The step under way: names an unexpected throw. */
  currentStep: string;
}

export function beginOperation(
  deps: LifecycleDeps,
  kind: OpKind,
  args: { gameId: string; imageRef: string; opSource: OpSource; sourceRef: string; leaseToken?: string },
  hooks: StartHooks,
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
    fence: 0,
    hooks,
    startedAt: deps.clock.now(),
    log,
    currentStep: 'validate_input',
  };
}

/** Marks a named step: it shows in the debug log and lets tests stop there. */
export async function step(op: Operation, name: string): Promise<void> {
  op.currentStep = name;
  op.log.debug({ step: name }, `${op.kind} step`);
  await op.hooks.onStep?.(name);
}

/**
 * Holds the game's lease around `body`. A busy lease is a retryable
 * conflict; a Redis failure is service_unavailable. The lease is released by
 * its holder only, even when `body` throws.
 */
export async function underLease(op: Operation, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  const { deps } = op;
  await step(op, 'acquire_lease');
  const token = op.leaseToken ?? deps.newToken();
  const leaseStartedAt = deps.clock.now();
  let fence: number | null;
  try {
    fence = await deps.leases.tryAcquire(op.gameId, token, deps.settings.leaseTtlMs);
  } catch (error) {
    return recordFailure(op, { step: 'acquire_lease', code: 'service_unavailable', message: `acquire game lease: ${errorMessage(error)}` });
  } finally {
    deps.telemetry.recordLeaseAcquireLatency((deps.clock.now().getTime() - leaseStartedAt.getTime()) / 1000);
  }
  if (fence === null) {
    return recordFailure(op, { step: 'acquire_lease', code: 'conflict', message: LEASE_BUSY_MESSAGE, leaseBusy: true });
  }
  op.fence = fence;
  try {
    return await guarded(op, body);
  } finally {
    await releaseLease(op, token);
  }
}

/** A step that throws where no branch expects it still ends in a Result. */
export async function guarded(op: Operation, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  try {
    return await body();
  } catch (error) {
    return recordFailure(op, { step: op.currentStep, code: 'internal_error', message: `${op.currentStep}: ${errorMessage(error)}` });
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
  op.log.info({ step: op.currentStep, container_id: args.containerId, image_ref: op.imageRef }, args.message);
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
    op.log.error({ step: op.currentStep, container_id: event.containerId, err: errorMessage(error) }, 'publish health event');
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
