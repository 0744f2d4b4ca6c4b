/**
 * Waiting for a busy game without spending a job attempt (contract §10).
 * A job that must wait — an earlier operation on its game is pending, or the
 * game's lease is held — moves itself to BullMQ's delayed set and throws
 * DelayedError: the worker neither counts an attempt nor backs off, and the
 * job comes back after the delay to look again.
 */
import type { Job } from 'bullmq';
import { DelayedError } from 'bullmq';

const FIRST_LOOK_MS = 100;
const LONGEST_LOOK_MS = 2_000;

/** How long to wait before looking again: about half the time waited so far, within [100 ms, 2 s] and never past the limit. */
export function nextLookDelay(waitedMs: number, limitMs: number): number {
  const delay = Math.min(LONGEST_LOOK_MS, Math.max(FIRST_LOOK_MS, Math.floor(waitedMs / 2)));
  return Math.max(1, Math.min(delay, limitMs - waitedMs));
}

/**
 * When the job began to wait, for the limit. BullMQ rewrites `processedOn` at
 * every run (a delayed job comes back as a new run), so the first run's time
 * is kept in the job's data at its first wait.
 */
export function waitingSinceOf(job: Pick<Job, 'data' | 'processedOn'>, now: number): number {
  const kept = (job.data as { waitingSince?: unknown } | undefined)?.waitingSince;
  return typeof kept === 'number' ? kept : (job.processedOn ?? now);
}

/** Whether the job has waited its whole limit for its game: it then ends `conflict` (request-ends.ts), a retry would only wait again. */
export function waitedTooLong(job: Pick<Job, 'data' | 'processedOn'>, limitMs: number, now = Date.now()): boolean {
  return now - waitingSinceOf(job, now) >= limitMs;
}

/** Delays the job (no attempt spent) and throws DelayedError: it comes back to look again. */
export async function waitForGame(job: Job, token: string | undefined, limitMs: number): Promise<never> {
  const now = Date.now();
  const since = waitingSinceOf(job, now);
  if ((job.data as { waitingSince?: unknown }).waitingSince === undefined) await job.updateData({ ...(job.data as object), waitingSince: since });
  await job.moveToDelayed(now + nextLookDelay(now - since, limitMs), token);
  throw new DelayedError();
}

/**
 * The job stopped waiting (it ran): a later wait of the same job (a retry that
 * finds the reconciler holding the lease) is measured from then, not from a
 * wait that ended long ago.
 */
export async function doneWaiting(job: Job): Promise<void> {
  const data = job.data as { waitingSince?: unknown };
  if (data.waitingSince === undefined) return;
  const rest = { ...(job.data as Record<string, unknown>) };
  delete rest.waitingSince;
  await job.updateData(rest);
}
