/**
 * The CrashRestarts port on BullMQ (contract §15): a crash waits out its
 * backoff as a delayed job of the `crash-restart` queue, outside the game's
 * order, so an operator's stop or start is not held behind it. When due, the
 * job enqueues a restart of op source `crash_policy` like any request
 * (enqueue.ts): it takes its place at the back of the game's order, and the
 * crash restart judges the game again under its lease (crash-policy.ts).
 *
 * Delayed jobs live in Redis: a worker that dies during the backoff leaves
 * the crash scheduled, and the next worker hands it on. One job per crashed
 * container while it waits (its id): the reconciler may see one crash twice
 * (an event and a pass) before its record says so. Handed on at most once:
 * the enqueue carries the crash's own id as a stream entry carries its id.
 */
import type { Job, Queue } from 'bullmq';
import type { EngineCrash } from '../domain/model.js';
import { MANAGER_OP_SOURCE } from '../domain/model.js';
import type { CrashRestarts } from '../domain/ports.js';
import type { EnqueueOutcome, Enqueuer } from './enqueue.js';
import { engineCrashSchema, gameIdSchema } from './queues.js';
import { z } from 'zod';

const dueCrashSchema = z.object({ gameId: gameIdSchema, crash: engineCrashSchema });

/** A job id BullMQ takes: no `:`, never all digits (a game id is neither, a container id is hex or alphanumeric). */
export function crashJobId(gameId: string, containerId: string): string {
  return `crash-${gameId}-${containerId}`;
}

/** How the crash restart's rows name it: the container whose crash it answers. */
export function crashSourceRef(crash: EngineCrash): string {
  return `crash:${crash.containerId.slice(0, 12)}`;
}

/**
 * `enqueuer`: a crash due at once (a backoff of 0, or the limit reached) is
 * handed on here, not through a delayed job of its own: the queue hop added
 * ~35 ms to a restart for nothing a wait needs. It is as durable (the restart
 * job is in Redis when this returns) and as once-only (the same dedup id).
 */
export class BullCrashRestarts implements CrashRestarts {
  constructor(
    private readonly queue: Queue,
    private readonly enqueuer?: Pick<Enqueuer, 'enqueue'>,
  ) {}

  async schedule(gameId: string, crash: EngineCrash, delayMs: number): Promise<void> {
    if (delayMs <= 0 && this.enqueuer) {
      await handOnCrash(this.enqueuer, gameId, crash);
      return;
    }
    await this.queue.add(
      'crash-restart',
      { gameId, crash },
      {
        jobId: crashJobId(gameId, crash.containerId),
        delay: delayMs,
        // Gone once handed on: the id is only a guard while the crash waits, and a later crash of the
        // same container (started again by hand) is a crash of its own.
        removeOnComplete: true,
        removeOnFail: { count: 100 },
        // Handing on is one enqueue: it fails only when Redis does, and Redis comes back.
        attempts: 10,
        backoff: { type: 'exponential', delay: 500 },
      },
    );
  }
}

/** The `crash-restart` worker's processor: the due crash becomes a restart in its game's order. */
export function createCrashRestartProcessor(enqueuer: Pick<Enqueuer, 'enqueue'>) {
  return async (job: Job): Promise<EnqueueOutcome['kind']> => {
    const { gameId, crash } = dueCrashSchema.parse(job.data);
    return handOnCrash(enqueuer, gameId, crash);
  };
}

/** The crash becomes a restart in its game's order. */
async function handOnCrash(enqueuer: Pick<Enqueuer, 'enqueue'>, gameId: string, crash: EngineCrash): Promise<EnqueueOutcome['kind']> {
  // At most once, as a stream entry is (contract §14): a worker that dies after the enqueue runs this again.
  const dedup = { entryId: crashJobId(gameId, crash.containerId) };
  const outcome = await enqueuer.enqueue('restart', { gameId, opSource: MANAGER_OP_SOURCE, sourceRef: crashSourceRef(crash), crash }, { dedup });
  return outcome.kind;
}
