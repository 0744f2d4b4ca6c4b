/**
 * The worker role: a BullMQ worker per lifecycle queue, one for the
 * reconciler and one for operation log retention (whose job schedulers it
 * registers), and the Docker events follower. The only role that drives Docker.
 */
import type { WorkerOptions } from 'bullmq';
import { Worker } from 'bullmq';
import { LABEL_GAME_ID, LABEL_OWNER, LABEL_OWNER_VALUE } from '../domain/model.js';
import { reconcileAll, reconcileOnEvent } from '../domain/reconcile.js';
import { pruneOperationLog } from '../domain/retention.js';
import { createGameOrder } from '../infra/redis/game-order.js';
import { createCrashRestartProcessor } from '../jobs/crash-restarts.js';
import { leaveOrderWhenFinished } from '../jobs/game-order.js';
import type { StepHook } from '../jobs/lifecycle-jobs.js';
import { createLifecycleProcessor, lifecycleWorkerOptions, lockLostCancels } from '../jobs/lifecycle-jobs.js';
import type { LifecycleKind, LifecycleQueue } from '../jobs/queues.js';
import { QUEUE_OF } from '../jobs/queues.js';
import type { EventsFollower } from '../infra/docker/events-follower.js';
import type { Infrastructure, RoleHandle } from './infrastructure.js';

/** How often the worker looks for deferred operations whose job id is free (a promotion its predecessor's end missed). */
const DEFERRED_SWEEP_MS = 2_000;

/** Scheduled jobs keep a short history: one run per period would otherwise pile up in Redis for ever. */
export const SCHEDULED_JOB_OPTS = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };

/** `stepHook`, test-only: called at every named step of every lifecycle job. */
export async function startWorkerRole(infra: Infrastructure, stepHook?: StepHook): Promise<RoleHandle> {
  const workerOpts = {
    connection: infra.bullConnection,
    prefix: infra.config.queuePrefix,
    concurrency: infra.config.jobs.concurrency,
    ...lifecycleWorkerOptions(infra.config.jobs.lockMs, infra.config.jobs.maxStalls),
  };
  const workers = [...startLifecycleWorkers(infra, workerOpts, stepHook), ...startScheduledWorkers(infra, workerOpts)];
  const sweep = sweepDeferred(infra);
  await scheduleJobs(infra);
  const events = await followGames(infra);
  infra.logger.info({ role: 'worker' }, 'worker started');

  return {
    readiness: {
      ...infra.readiness,
      // A closing worker (SIGTERM: it drains its active jobs) takes no new job: not ready.
      workers: () => {
        const idle = workers.filter((w) => !w.isRunning() || w.isPaused() || w.closing !== undefined).map((w) => w.name);
        return idle.length === 0 ? Promise.resolve() : Promise.reject(new Error(`BullMQ workers not running: ${idle.join(', ')}`));
      },
    },
    closers: [
      // Side by side: an events stream still connecting (a daemon that does not answer) must not keep the workers from draining.
      () => {
        clearInterval(sweep);
        return Promise.all([events.stop(), ...workers.map((w) => w.close())]);
      },
    ],
  };
}

/** A worker per lifecycle queue, each leaving the game's order when its job ends. */
function startLifecycleWorkers(infra: Infrastructure, workerOpts: WorkerOptions, stepHook?: StepHook): Worker[] {
  const { config, deps, logger, enqueuer } = infra;
  const lifecycles = Object.entries(QUEUE_OF) as Array<[LifecycleKind, LifecycleQueue]>;
  // The enqueuer's mutex prefix is its default here too: the order's lookers read those mutexes.
  const order = createGameOrder({ redis: infra.commands, bullPrefix: config.queuePrefix, idleTtlMs: config.streamDedupWindowMs });
  const promote = (gameId: string) => enqueuer.promote(gameId);
  const waits = { order, leaseWaitMs: config.leaseWaitMs, promote };
  return lifecycles.map(([kind, queue]) => {
    const worker = new Worker(queue, createLifecycleProcessor(kind, deps, stepHook, waits), workerOpts);
    leaveOrderWhenFinished(worker, queue, order, promote, logger);
    lockLostCancels(worker);
    return worker;
  });
}

/** The reconciler and operation log retention, one job at a time each; the crash restarts handed on when due (crash-restarts.ts). */
function startScheduledWorkers(infra: Infrastructure, workerOpts: WorkerOptions): Worker[] {
  const { config, deps, telemetry } = infra;
  const reconciler = new Worker(
    'reconcile',
    async () => {
      const summary = await reconcileAll(deps);
      telemetry.recordReconcilePass(deps.clock.now());
      return summary;
    },
    { ...workerOpts, concurrency: 1 },
  );
  const retention = new Worker(
    'operation-log-retention',
    async () => {
      const summary = await pruneOperationLog(deps, config.operationLog.retentionDays);
      telemetry.recordOperationLogPruned(summary.deleted);
      return summary;
    },
    { ...workerOpts, concurrency: 1 },
  );
  // A due crash is one enqueue: a few at once is plenty.
  const crashRestarts = new Worker('crash-restart', createCrashRestartProcessor(infra.enqueuer), { ...workerOpts, concurrency: 4 });
  return [reconciler, retention, crashRestarts];
}

/**
 * A deferred operation becomes its job when the one before it ends (leaveOrderWhenFinished); a worker
 * that died in between leaves it deferred: the sweep finds it. Games with a deferred operation only.
 */
function sweepDeferred({ enqueuer, logger }: Infrastructure): ReturnType<typeof setInterval> {
  return setInterval(() => {
    enqueuer.promoteAll().catch((error: unknown) => logger.warn({ err: String(error) }, 'deferred operations sweep failed; the next one retries'));
  }, DEFERRED_SWEEP_MS);
}

/** Idempotent across processes: one scheduler, one run per period. */
async function scheduleJobs({ config, queues }: Infrastructure): Promise<void> {
  await queues.reconcile.upsertJobScheduler(
    'reconcile-every',
    { every: config.reconcileIntervalMs },
    { name: 'reconcile', data: {}, opts: SCHEDULED_JOB_OPTS },
  );
  await queues['operation-log-retention'].upsertJobScheduler(
    'operation-log-retention-every',
    { every: config.operationLog.retentionIntervalMs },
    { name: 'operation-log-retention', data: {}, opts: SCHEDULED_JOB_OPTS },
  );
}

/** The backend's follower of our engines (events-follower.ts or swarm-follower.ts): each death or health change is reconciled at once. */
function followGames({ backend, config, deps, enqueuer, logger }: Infrastructure): Promise<EventsFollower> {
  const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return backend.followEvents({
    labels: { ...config.container.extraLabels, [LABEL_OWNER]: LABEL_OWNER_VALUE },
    onEvent: async (event) => {
      await reconcileOnEvent(deps, event.labels[LABEL_GAME_ID] ?? '', wait);
    },
    onReconnect: () => enqueuer.enqueueReconcile(),
    logger,
  });
}
