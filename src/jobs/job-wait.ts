/**
 * Waiting for a busy game without spending a job attempt (contract §10).
 * A job that must wait — an earlier operation on its game is pending, or the
 * game's lease is held — moves itself to BullMQ's delayed set and throws
 * DelayedError: the worker neither counts an attempt nor backs off, and the
 * job comes back after the delay to look again.
 */
import type { Job } from 'bullmq';
import { DelayedError } from 'bullmq';
import { LEASE_BUSY_MESSAGE } from '../domain/errors.js';
import type { LifecycleResult } from '../domain/lifecycle.js';
import { failForGood } from './result-table.js';

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

/** What a job that waited its whole limit for an earlier operation fails with: the same `conflict` a busy lease gives. */
export const GAME_BUSY: LifecycleResult = { outcome: 'failure', errorCode: 'conflict', errorMessage: LEASE_BUSY_MESSAGE, record: null, retryable: true };

/**
 * Delays the job and throws DelayedError; past `limitMs` of waiting, fails
 * it for good with `busy` (a retry would only wait again).
 */
export async function waitOrFail(job: Job, token: string | undefined, busy: LifecycleResult, limitMs: number): Promise<never> {
  const now = Date.now();
  const since = waitingSinceOf(job, now);
  const waited = now - since;
  if (waited >= limitMs) failForGood(busy);
  if ((job.data as { waitingSince?: unknown }).waitingSince === undefined) await job.updateData({ ...(job.data as object), waitingSince: since });
  await job.moveToDelayed(now + nextLookDelay(waited, limitMs), token);
  throw new DelayedError();
}
