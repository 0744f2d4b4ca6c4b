/**
 * An operation and the steps that make it up: its context, `step` (where
 * an operation that lost its lease stops), and `runStep` / `attempt`, which
 * turn a step's throw into its Failure. A lifecycle file (start.ts, stop.ts,
 * …) reads as its own list of steps on top of this; holding the lease, undo
 * and how an operation ends under its lease are in operation-lease.ts.
 */
import { errorMessage, isContainerNameTaken, isDatabaseDeadline, isDockerDeadline, LEASE_LOST_MESSAGE } from './errors.js';
import type { FailureCode } from './errors.js';
import type { Failure, LifecycleDeps, LifecycleHooks, StepName } from './lifecycle.js';
import type { NotificationType, OpKind, OpSource } from './model.js';
import type { Logger } from './ports.js';

/**
 * The game's lease as its holder knows it. Renewed every third of its TTL
 * while the operation works; `validUntil` is how long the last confirmed
 * renewal (or the acquisition) keeps it for certain, measured from when that
 * request was sent, so a holder whose process stalled past it knows, when it
 * wakes, that it may no longer hold the lease — without asking Redis.
 */
export interface HeldLease {
  readonly token: string;
  /** Strictly increasing per game across holders: carried by every record write. */
  readonly fence: number;
  validUntil: number;
  /** Why the lease is known lost (a renewal refused), or null. */
  lost: string | null;
  /** What this operation created that nobody has adopted yet: undone if the lease is lost. */
  readonly undo: Map<string, () => Promise<void>>;
}

/** Shared by an operation, its views, and the inner operations it runs (restart's stop and start). */
export interface LeaseSlot {
  held: HeldLease | null;
}

/** Thrown at a step boundary once the lease is lost: the operation makes no further change. */
export class LeaseLost extends Error {
  constructor(readonly reason: string) {
    super(`${LEASE_LOST_MESSAGE} (${reason})`);
    this.name = 'LeaseLost';
  }
}

export interface Operation {
  readonly deps: LifecycleDeps;
  readonly kind: OpKind;
  readonly gameId: string;
  /** What the audit row names; '' until known (a stop learns it from the record). */
  readonly imageRef: string;
  /**
   * The image's digest once known (a start learns it at inspect_image; a stop
   * from the record): the audit row carries it. Set in place, so the catch of
   * `guarded` and `underLease`, which hold this same object, report it too.
   */
  imageDigest: string | null;
  readonly opSource: OpSource;
  readonly sourceRef: string;
  readonly lease: LeaseSlot;
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
  args: { gameId: string; imageRef: string; opSource: OpSource; sourceRef: string },
  hooks: LifecycleHooks,
  lease: LeaseSlot = { held: null },
): Operation {
  const log = deps.logger.child({ op_kind: kind, game_id: args.gameId, op_source: args.opSource, source_ref: args.sourceRef });
  return {
    deps,
    kind,
    gameId: args.gameId,
    imageRef: args.imageRef,
    imageDigest: null,
    opSource: args.opSource,
    sourceRef: args.sourceRef,
    lease,
    hooks,
    startedAt: deps.clock.now(),
    log,
    progress: { step: 'validate_input' },
  };
}

/** The same operation, now known to concern `imageRef` (its audit row will say so) and, when known, its digest. */
export function withImage(op: Operation, imageRef: string, imageDigest: string | null = null): Operation {
  return { ...op, imageRef, imageDigest };
}

/** The same operation under another audit kind (the reconciler adopting what it observed). */
export function asKind(op: Operation, kind: OpKind): Operation {
  return { ...op, kind };
}

/**
 * Enters a named step that has no work of its own to wrap: it shows in the
 * debug log and lets tests stop there. A step is where an operation that lost
 * its lease stops: before any further change to Docker or the record.
 */
export async function step(op: Operation, name: StepName): Promise<void> {
  op.progress.step = name;
  assertLeaseHeld(op);
  op.log.debug({ step: name }, `${op.kind} step`);
  if (op.hooks.onStep) {
    await op.hooks.onStep(name);
    // A hook may have held the step up (the freeze tests stop the process here): look again.
    assertLeaseHeld(op);
  }
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
 * step's own code; the re-run converges on what the daemon did. A container
 * name taken under our lease is what such a late create leaves behind, and a
 * database call past its deadline (contract §14): both answered the same way.
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
    // A step that failed once the lease was lost (a process frozen past its TTL, whose container a newer
    // holder has since removed) failed because of that: no verdict of its own, the operation ends lease-lost.
    assertLeaseHeld(op);
    const message = errorMessage(error);
    if (isDockerDeadline(error) || isContainerNameTaken(error) || isDatabaseDeadline(error)) {
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

/** Throws LeaseLost when the lease is known lost, may have expired, or the job that runs the operation lost its own lock. */
export function assertLeaseHeld(op: Operation): void {
  if (op.hooks.signal?.aborted) throw new LeaseLost(`the job lost its lock: ${String(op.hooks.signal.reason)}`);
  const held = op.lease.held;
  if (!held) return;
  if (held.lost) throw new LeaseLost(held.lost);
  const now = op.deps.clock.now().getTime();
  if (now >= held.validUntil) throw new LeaseLost(`no renewal confirmed for ${now - held.validUntil + op.deps.settings.leaseTtlMs} ms`);
}
