/**
 * The intake role: the stream adapter that turns `runtime:start_jobs`
 * entries into `start-runtime` jobs, and records the ones it must refuse.
 */
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../domain/ports.js';
import { rejectStart } from '../domain/start.js';
import { createRedis } from '../infra/redis/connection.js';
import { RedisStreamConsumer } from '../infra/redis/stream-consumer.js';
import type { AfterEnqueueHook, Intake, StartEntryDeps } from '../jobs/intake.js';
import { handleStartEntry, INTAKE_GROUP } from '../jobs/intake.js';
import type { Infrastructure, RoleHandle } from './infrastructure.js';

export interface IntakeDeps extends StartEntryDeps {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  blocking: Redis;
  /** For XACK / XAUTOCLAIM / XGROUP, which must not wait behind the block. */
  commands: Redis;
  stream: string;
  consumer?: string;
  claimIdleMs: number;
  blockMs?: number;
  batch?: number;
  logger: Logger;
}

/** Reads the start stream in the consumer group `rtmanager`; each entry goes to handleStartEntry. */
export function startIntake(deps: IntakeDeps): Intake {
  const consumer = deps.consumer ?? `${os.hostname()}-${process.pid}`;
  const log = deps.logger.child({ component: 'intake', stream: deps.stream, consumer });
  return new RedisStreamConsumer({
    blocking: deps.blocking,
    commands: deps.commands,
    stream: deps.stream,
    group: INTAKE_GROUP,
    consumer,
    claimIdleMs: deps.claimIdleMs,
    blockMs: deps.blockMs ?? 2_000,
    batch: deps.batch ?? 100,
    log,
    handle: (id, fields) => handleStartEntry(deps, log, id, fields),
  });
}

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
