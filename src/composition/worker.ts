/**
 * The worker role: a BullMQ worker per lifecycle queue and one for the
 * reconciler (whose job scheduler it registers), and the Docker events
 * follower. The only role that drives Docker.
 */
import { Worker } from 'bullmq';
import { LABEL_GAME_ID, LABEL_OWNER, LABEL_OWNER_VALUE } from '../domain/model.js';
import { reconcileAll, reconcileOnEvent } from '../domain/reconcile.js';
import { createGameOrder, leaveOrderWhenFinished } from '../jobs/game-order.js';
import type { StepHook } from '../jobs/lifecycle-jobs.js';
import { createLifecycleProcessor, lifecycleWorkerOptions, lockLostCancels } from '../jobs/lifecycle-jobs.js';
import type { LifecycleKind, LifecycleQueue } from '../jobs/queues.js';
import { QUEUE_OF } from '../jobs/queues.js';
import type { Closer, Infrastructure } from './infrastructure.js';

/** `stepHook`, test-only: called at every named step of every lifecycle job. */
export async function startWorkerRole(infra: Infrastructure, stepHook?: StepHook): Promise<Closer[]> {
  const { config, deps, logger, queues, enqueuer } = infra;
  const workerOpts = {
    connection: infra.bullConnection,
    prefix: config.queuePrefix,
    concurrency: config.jobs.concurrency,
    ...lifecycleWorkerOptions(config.jobs.lockMs, config.jobs.maxStalls),
  };
  const lifecycles = Object.entries(QUEUE_OF) as Array<[LifecycleKind, LifecycleQueue]>;
  // The enqueuer's mutex prefix is its default here too: the order's lookers read those mutexes.
  const order = createGameOrder({ redis: infra.commands, bullPrefix: config.queuePrefix });
  const waits = { order, leaseWaitMs: config.leaseWaitMs };
  const lifecycleWorkers = lifecycles.map(([kind, queue]) => {
    const worker = new Worker(queue, createLifecycleProcessor(kind, deps, stepHook, waits), workerOpts);
    leaveOrderWhenFinished(worker, queue, order, logger);
    lockLostCancels(worker);
    return worker;
  });
  const workers = [...lifecycleWorkers, new Worker('reconcile', async () => reconcileAll(deps), { ...workerOpts, concurrency: 1 })];
  // Idempotent across processes: one scheduler, one run per period.
  await queues.reconcile.upsertJobScheduler('reconcile-every', { every: config.reconcileIntervalMs }, { name: 'reconcile', data: {} });

  // Loaded here, not at the top: only the worker pays for dockerode (see LazyDockerEngine).
  const [{ followEngineEvents }, { dockerFromHost }] = await Promise.all([
    import('../infra/docker/events-follower.js'),
    import('../infra/docker/docker-engine.js'),
  ]);
  const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const events = followEngineEvents({
    docker: dockerFromHost(config.docker.host, infra.dockerTls),
    labels: { ...config.container.extraLabels, [LABEL_OWNER]: LABEL_OWNER_VALUE },
    onEvent: async (event) => {
      await reconcileOnEvent(deps, event.labels[LABEL_GAME_ID] ?? '', wait);
    },
    onReconnect: () => enqueuer.enqueueReconcile(),
    logger,
  });
  logger.info({ role: 'worker' }, 'worker started');

  return [
    async () => {
      await events.stop();
      await Promise.all(workers.map((w) => w.close()));
    },
  ];
}
