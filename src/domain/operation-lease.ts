/**
 * An operation under its game's lease: acquiring it, renewing it while the
 * operation works, releasing it; what the operation created and must undo
 * should the lease be lost before anyone adopts it; and how an operation
 * under the lease ends when it is busy, unavailable, lost, or a step throws
 * what no branch expects. The steps themselves are in operation.ts.
 */
import { errorMessage, isDatabaseDeadline, LEASE_BUSY_MESSAGE, LEASE_LOST_MESSAGE } from './errors.js';
import type { Failure, LifecycleResult } from './lifecycle.js';
import type { HeldLease, Operation } from './operation.js';
import { LeaseLost, step } from './operation.js';
import { recordFailure } from './outcomes.js';
import { withTimeout } from './timeout.js';

/** Bounds cleanup calls (lease release, rollback), which run even after a throw. */
export const CLEANUP_TIMEOUT_MS = 5_000;

/**
 * Pauses (ms) before each further try of a busy lease, for a caller that
 * would otherwise wait outside (a job moves itself to the delayed set and
 * looks again ≥ 100 ms later, job-wait.ts). The holder a job meets is mostly
 * the reconciler, which holds a game for tens of milliseconds (a crash: it
 * schedules the restart, then writes the record); 155 ms in all is shorter
 * than one look from the delayed set, which stays the way to wait longer.
 */
export const LEASE_PATIENCE_MS = [5, 10, 20, 40, 80] as const;

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
  const ttlMs = deps.settings.leaseTtlMs;
  await step(op, 'acquire_lease');
  // A fresh token per acquisition: an attempt's lease is never mistaken for another's.
  const token = deps.newToken();
  let askedAt = 0;
  let fence: number | null = null;
  // A caller that waits when busy first waits a little here: see LEASE_PATIENCE_MS.
  const pauses = op.hooks.waitsWhenBusy ? [0, ...LEASE_PATIENCE_MS] : [0];
  for (const pause of pauses) {
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    if (op.hooks.signal?.aborted) break;
    askedAt = deps.clock.now().getTime();
    try {
      fence = await deps.leases.tryAcquire(op.gameId, token, ttlMs);
    } catch (error) {
      return refused.unavailable(error);
    } finally {
      deps.telemetry.recordLeaseAcquireLatency((deps.clock.now().getTime() - askedAt) / 1000);
    }
    if (fence !== null) break;
  }
  if (fence === null) return refused.busy();
  const held: HeldLease = { token, fence, validUntil: askedAt + ttlMs, lost: null, undo: new Map() };
  op.lease.held = held;
  const renewer = setInterval(() => void renewLease(op, held, ttlMs), Math.max(1, Math.floor(ttlMs / 3)));
  try {
    return await body();
  } finally {
    clearInterval(renewer);
    op.lease.held = null;
    await releaseLease(op, token);
  }
}

async function renewLease(op: Operation, held: HeldLease, ttlMs: number): Promise<void> {
  if (held.lost) return;
  // A job that lost its lock runs elsewhere now: an attempt stuck inside a step must not keep the game from it.
  if (op.hooks.signal?.aborted) {
    held.lost = `the job lost its lock: ${String(op.hooks.signal.reason)}`;
    return;
  }
  const sentAt = op.deps.clock.now().getTime();
  try {
    if (await op.deps.leases.renew(op.gameId, held.token, ttlMs)) held.validUntil = Math.max(held.validUntil, sentAt + ttlMs);
    else held.lost = 'its renewal was refused: it expired or another holder took it';
  } catch (error) {
    // Redis blinked: the next renewal may get through; validUntil bounds how long we trust the lease meanwhile.
    op.log.warn({ err: errorMessage(error) }, 'renew game lease');
  }
}

/** The fence of the lease this operation holds (0 outside a lease: a write that any holder's may overrule). */
export function fenceOf(op: Operation): number {
  return op.lease.held?.fence ?? 0;
}

/** Registers how to undo something this operation created, should its lease be lost before anyone adopts it. */
export function createdUntilAdopted(op: Operation, key: string, undo: () => Promise<void>): void {
  op.lease.held?.undo.set(key, undo);
}

/** What was registered under `key` is now owned by the record: nothing to undo. */
export function adopted(op: Operation, key: string): void {
  op.lease.held?.undo.delete(key);
}

/**
 * The lease is lost (or, with no reason given, a write was refused for its fence): undo what this
 * operation created that nobody adopted, then end with a retryable conflict.
 * Nothing else is changed.
 */
export async function endLeaseLost(op: Operation, reason: string, containerId = ''): Promise<LifecycleResult> {
  const undo = [...(op.lease.held?.undo.values() ?? [])];
  op.lease.held?.undo.clear();
  for (const action of undo) {
    try {
      await withTimeout(action(), CLEANUP_TIMEOUT_MS);
    } catch (error) {
      // The reconciler adopts or disposes of what is left.
      op.log.error({ err: errorMessage(error) }, 'undo after lease lost');
    }
  }
  const message = reason === '' ? LEASE_LOST_MESSAGE : `${LEASE_LOST_MESSAGE} (${reason})`;
  return recordFailure(op, { step: op.progress.step, code: 'conflict', message, lease: 'lease_lost', containerId });
}

/**
 * A lifecycle under the game's lease: a busy lease is a retryable conflict,
 * a Redis failure service_unavailable, and every outcome a recorded Result.
 */
export function underLease(op: Operation, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  // guarded() twice: around the body, and around the acquisition, whose step may find the job already lost.
  return guarded(op, () =>
    holdingLease(op, () => guarded(op, body), {
      busy: () => {
        const busy: Failure = { step: 'acquire_lease', code: 'conflict', message: LEASE_BUSY_MESSAGE, lease: 'lease_busy' };
        if (!op.hooks.waitsWhenBusy) return recordFailure(op, busy);
        op.log.debug({ step: 'acquire_lease' }, 'game busy; the caller waits');
        return Promise.resolve({ outcome: 'failure', errorCode: busy.code, errorMessage: busy.message, record: null, retryable: true, lease: 'lease_busy' });
      },
      unavailable: (error) => recordFailure(op, { step: 'acquire_lease', code: 'service_unavailable', message: `acquire game lease: ${errorMessage(error)}` }),
    }),
  );
}

/** A throw no branch expects still ends in a Result (a database call past its deadline: service_unavailable); a lost lease ends as one. */
export async function guarded(op: Operation, body: () => Promise<LifecycleResult>): Promise<LifecycleResult> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof LeaseLost) return endLeaseLost(op, error.reason);
    const step = op.progress.step;
    try {
      return await recordFailure(op, {
        step,
        code: isDatabaseDeadline(error) ? 'service_unavailable' : 'internal_error',
        message: `${step}: ${errorMessage(error)}`,
      });
    } catch (late) {
      // The lease went while the step threw: the failure is no verdict of this operation's either.
      if (late instanceof LeaseLost) return endLeaseLost(op, late.reason);
      throw late;
    }
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
