/**
 * The intake role: the stream adapter that turns `runtime:start_jobs`
 * entries into `start-runtime` jobs, and records the ones it must refuse.
 */
import { rejectStart } from '../domain/start.js';
import { createRedis } from '../infra/redis/connection.js';
import type { AfterEnqueueHook } from '../jobs/intake.js';
import { startIntake } from '../jobs/intake.js';
import type { Infrastructure, RoleHandle } from './infrastructure.js';

/** `afterEnqueue`, test-only: called between an entry's enqueue and its XACK. */
export function startIntakeRole(infra: Infrastructure, afterEnqueue?: AfterEnqueueHook): RoleHandle {
  const { config, deps, enqueuer, logger } = infra;
  const intake = startIntake({
    blocking: createRedis(config.redisUrl, 'blocking'),
    commands: infra.commands,
    stream: config.streams.startJobs,
    claimIdleMs: config.intake.claimIdleMs,
    // At most once per entry (contract §14): by its id, and by its request id when it has one.
    enqueue: (request, dedup) => enqueuer.enqueue('start', request, { dedup }),
    reject: async (request, code, message) => {
      await rejectStart(deps, request, { code, message });
    },
    telemetry: infra.telemetry,
    logger,
    afterEnqueue,
  });
  return {
    // Refused entries are recorded in Postgres; Docker it never calls.
    readiness: {
      redis: infra.readiness.redis,
      postgres: infra.readiness.postgres,
      intake: () => (intake.listening() ? Promise.resolve() : Promise.reject(new Error(`not listening on ${config.streams.startJobs}`))),
    },
    closers: [() => intake.stop()],
  };
}
