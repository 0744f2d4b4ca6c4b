/**
 * Job processors: parse with zod, call the domain, settle through the one
 * result table. Nothing else happens here.
 */
import type { Job, Worker, WorkerOptions } from 'bullmq';
import { isLeaseBusy } from '../domain/errors.js';
import type { LifecycleDeps, LifecycleHooks, LifecycleResult } from '../domain/lifecycle.js';
import type { PullProgress } from '../domain/engine-port.js';
import { crashRestartRuntime } from '../domain/crash-policy.js';
import type { EngineCrash } from '../domain/model.js';
import { patchRuntime, restartRuntime } from '../domain/restart.js';
import { startRuntime } from '../domain/start.js';
import { stopRuntime } from '../domain/stop.js';
import type { GameOrder } from './game-order.js';
import { doneWaiting, waitedTooLong, waitForGame } from './job-wait.js';
import type { ResultJson } from './json.js';
import type { LifecycleKind } from './queues.js';
import { PAYLOAD_SCHEMAS, QUEUE_OF } from './queues.js';
import { failForGood, fateOf, payloadRejected, settle } from './result-table.js';
import type { AcceptedRequest } from '../domain/request-ends.js';
import { endedAttempt, endSuperseded, endWaitedTooLong, recordJoinedEnd } from '../domain/request-ends.js';

/**
 * A dead worker's job is picked up again within about lockDuration +
 * stalledInterval (≈ 15 s). A stall is the worker's death, not the job's
 * fault, and the pipeline converges on a re-run, so a stalled job runs
 * again up to `maxStalls` times. Stalled jobs go back to the head of the
 * queue: when workers die in quick succession (a crash-looping host, the
 * kill-burst fault test) the same job is first in line at every death, so
 * BullMQ's bound of 1 — or the 3 we had — fails accepted starts for good.
 * The bound stays finite so that a job which itself kills its worker ends.
 */
export function lifecycleWorkerOptions(lockMs = 10_000, maxStalls = 20): Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> {
  return { lockDuration: lockMs, stalledInterval: Math.max(500, Math.floor(lockMs / 2)), maxStalledCount: maxStalls };
}

/**
 * A worker whose lock on a job could not be renewed (its event loop stalled,
 * its Redis link blinked) may see the job run again elsewhere: the attempt
 * here is told through its AbortSignal and stops at its next step.
 */
export function lockLostCancels(worker: Worker): void {
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const jobId of jobIds) worker.cancelJob(jobId, 'job lock lost');
  });
}

/** Test-only hook, called at every named step with the job that runs it. */
export type StepHook = (job: Job, step: string) => void | Promise<void>;

/** Pull progress becomes job progress at most this often: a pull reports per layer many times a second, and each write is a Redis round trip and an event. */
const PROGRESS_EVERY_MS = 500;

/** Which attempt of which job: the audit row's source_ref. */
export function sourceRefOf(job: Job): string {
  return `job:${job.id ?? '?'}#${job.attemptsMade + 1}`;
}

/**
 * How a job waits for its game (job-wait.ts): for its turn in the game's
 * order, and while the game's lease is busy, up to `leaseWaitMs` in all.
 * Without it (the bare processor some tests drive) a busy lease is a
 * retryable failure and there is no order.
 */
export interface GameWaits {
  order?: GameOrder;
  leaseWaitMs: number;
  /** Adds the job of the game's deferred operations whose job id is free (Enqueuer.promote). */
  promote?: (gameId: string) => Promise<void>;
}

export function createLifecycleProcessor(kind: LifecycleKind, deps: LifecycleDeps, stepHook?: StepHook, waits?: GameWaits) {
  const queue = QUEUE_OF[kind];
  // Three parameters: BullMQ then hands each job an AbortSignal (see lockLostCancels).
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<ResultJson> => {
    const parsed = PAYLOAD_SCHEMAS[kind].safeParse(job.data);
    if (!parsed.success)
      return settle(payloadRejected(`invalid ${kind} payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`));
    const payload = parsed.data;
    const imageRef = 'imageRef' in payload && typeof payload.imageRef === 'string' ? payload.imageRef : '';
    const sourceRef = payload.sourceRef ? `${payload.sourceRef} ${sourceRefOf(job)}` : sourceRefOf(job);
    const request: AcceptedRequest = { gameId: payload.gameId, imageRef, opSource: payload.opSource, sourceRef };
    const ends = requestEnds(kind, deps, job, waits?.order, request);

    // Run again after a stall: an attempt that already wrote its end settles with it instead of running twice.
    const ended = job.stalledCounter > 0 ? await endedAttempt(deps, kind, payload.gameId, sourceRef) : null;
    if (ended) return ends.final(ended);

    if (waits?.order) {
      const turn = await waits.order.turn(queue, job);
      if (turn.turn === 'wait') {
        if (turn.promote && waits.promote) await waits.promote(payload.gameId).catch(() => undefined);
        return waitOrGiveUp(job, token, waits.leaseWaitMs, () => ends.giveUp());
      }
      if (turn.turn === 'moot')
        return ends.final(await endSuperseded(deps, kind, request, `a stop accepted later for game ${payload.gameId} decides its state`));
    }

    const progress = throttledProgress(job);
    const stepHooks: LifecycleHooks = {
      onPullProgress: progress.report,
      ...(stepHook ? { onStep: (step: string) => stepHook(job, step) } : {}),
      ...(signal ? { signal } : {}),
      ...(waits ? { waitsWhenBusy: true } : {}),
    };
    let result: LifecycleResult;
    try {
      result = await runLifecycle(kind, deps, { ...request, imageRef }, stepHooks, 'crash' in payload ? payload.crash : undefined);
    } finally {
      await progress.flush();
    }
    if (waits && isLeaseBusy(result)) return waitOrGiveUp(job, token, waits.leaseWaitMs, () => ends.giveUp());
    if (waits) await doneWaiting(job);
    return ends.final(result);
  };
}

/** `crash`: a restart the crash policy asked for (contract §15), with the crash it answers. */
function runLifecycle(
  kind: LifecycleKind,
  deps: LifecycleDeps,
  request: AcceptedRequest,
  hooks: LifecycleHooks,
  crash?: EngineCrash,
): Promise<LifecycleResult> {
  const { gameId, opSource, sourceRef, imageRef } = request;
  if (crash) return crashRestartRuntime(deps, { gameId, sourceRef, crash }, hooks);
  switch (kind) {
    case 'start':
      return startRuntime(deps, { gameId, imageRef, opSource, sourceRef }, hooks);
    case 'stop':
      return stopRuntime(deps, { gameId, opSource, sourceRef }, hooks);
    case 'restart':
      return restartRuntime(deps, { gameId, opSource, sourceRef }, hooks);
    case 'patch':
      return patchRuntime(deps, { gameId, imageRef, opSource, sourceRef }, hooks);
  }
}

/** Waits for the game, or past the limit ends the request `conflict` for good. */
async function waitOrGiveUp(job: Job, token: string | undefined, limitMs: number, giveUp: () => Promise<never>): Promise<never> {
  if (waitedTooLong(job, limitMs)) return giveUp();
  return waitForGame(job, token, limitMs);
}

/**
 * How a job's Result leaves the processor. When it is the operation's end
 * (success, a failure never retried, the last attempt), the operation is
 * closed to joiners first, and each request that joined it gets its own
 * audit row with this outcome (contract §14).
 */
function requestEnds(kind: LifecycleKind, deps: LifecycleDeps, job: Job, order: GameOrder | undefined, carrier: AcceptedRequest) {
  const queue = QUEUE_OF[kind];
  const joinedEnd = async (result: LifecycleResult) => {
    if (!order) return;
    const joiners = await order.close(queue, job);
    for (const joiner of joiners) {
      const request = { ...carrier, opSource: joiner.opSource, sourceRef: `${joiner.sourceRef} ${sourceRefOf(job)}` };
      await recordJoinedEnd(deps, kind, request, result, carrier.sourceRef);
    }
  };
  return {
    async final(result: LifecycleResult): Promise<ResultJson> {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (fateOf(result) !== 'retry' || lastAttempt) await joinedEnd(result);
      return settle(result);
    },
    async giveUp(): Promise<never> {
      const result = await endWaitedTooLong(deps, kind, carrier);
      await joinedEnd(result);
      return failForGood(result);
    },
  };
}

/** Contract §11: the start poll's `progress` while a pull runs (Bull Board shows the same object). */
function pullProgressJson(p: PullProgress) {
  return { step: 'pull_image', layers_done: p.layersDone, layers_total: p.layersTotal, bytes_done: p.bytesDone, bytes_total: p.bytesTotal };
}

/**
 * At most one progress write per PROGRESS_EVERY_MS, and the latest report
 * always lands (a trailing write), so a finished pull does not keep showing
 * its first layer. Writes are chained, not dropped: the processor awaits
 * `flush()` before it returns.
 */
function throttledProgress(job: Job) {
  let lastWriteAt = 0;
  let latest: PullProgress | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writes: Promise<void> = Promise.resolve();
  const write = () => {
    timer = undefined;
    if (!latest) return;
    const progress = latest;
    latest = null;
    lastWriteAt = Date.now();
    // Best effort: progress is for people watching, a lost write changes nothing.
    writes = writes.then(() => job.updateProgress(pullProgressJson(progress))).catch(() => undefined);
  };
  return {
    report: (progress: PullProgress): void => {
      latest = progress;
      if (timer) return;
      const wait = PROGRESS_EVERY_MS - (Date.now() - lastWriteAt);
      if (wait <= 0) write();
      else timer = setTimeout(write, wait);
    },
    flush: (): Promise<void> => {
      if (timer) {
        clearTimeout(timer);
        write();
      }
      return writes;
    },
  };
}
