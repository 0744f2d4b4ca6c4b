/**
 * The system of the scale bench (bench/scale.ts) as an operator runs it. The
 * fault tests' harness (test/faults/support.ts) gives it its own database,
 * queue prefix, streams, network, state root and ports, and also settings
 * only its tests want (log level warn, a 3 s lease, a 2 s job lock, 20
 * attempts, a 500 ms backoff, 10 jobs at once, no reconciler pass for an
 * hour): those are put back to their defaults, as the crash part does
 * (operatorDefaults in crash-restart.ts).
 * The reconciler's pass is read from the worker's own scheduled job (its
 * summary is the job's return value), not run beside it.
 */
import { Queue } from 'bullmq';
import { loadConfig } from '../src/config.js';
import type { Config } from '../src/config.js';
import type { ReconcileSummary } from '../src/domain/reconcile.js';
import type { FaultSystem } from '../test/faults/support.js';
import { faultSystem } from '../test/faults/support.js';
import { operatorDefaults } from './crash-restart.js';

/** The harness's system with every variable at the operator's default but for `env` (what the part must set: a backend, a network) and where the system is. */
export async function operatorSystem(part: string, env: Record<string, string> = {}): Promise<FaultSystem> {
  const system = await faultSystem();
  operatorDefaults(system.env, env, part);
  return system;
}

/** The configuration the processes boot with (they read the same environment). */
export function configOf(system: FaultSystem): Config {
  const result = loadConfig(system.env);
  if (!result.ok) throw new Error(`the bench's environment is not a valid configuration: ${result.errors.join('; ')}`);
  return result.config;
}

/** Every variable the processes get, secrets hidden, and the defaults in effect for what the harness no longer sets. */
export function settingsOf(system: FaultSystem): Record<string, string | number> {
  const config = configOf(system);
  const set = Object.entries(system.env)
    .filter(([k]) => k.startsWith('RTMANAGER_'))
    .map(([k, v]) => [k, /TOKEN|PASSWORD|DATABASE_URL/.test(k) ? '(hidden)' : String(v)] as const);
  return {
    ...Object.fromEntries(set.sort(([a], [b]) => a.localeCompare(b))),
    'default:log_level': config.logLevel,
    'default:reconcile_interval_ms': config.reconcileIntervalMs,
    'default:lease_ttl_ms': config.leaseTtlMs,
    'default:job_lock_ms': config.jobs.lockMs,
    'default:job_attempts': config.jobs.attempts,
    'default:worker_concurrency': config.jobs.concurrency,
  };
}

/** A reconcile pass's summary, and when (epoch ms) it ended. */
export type Pass = ReconcileSummary & { finishedOn: number };

/**
 * The next `count` passes of the worker's scheduled reconciler that saw
 * what `seen` accepts, as they finish: the summary of each (its
 * durationMs is the pass, timed inside the worker).
 */
export async function reconcilePasses(system: FaultSystem, count: number, seen: (s: ReconcileSummary) => boolean, ms: number): Promise<Pass[]> {
  const connection = system.redis.duplicate();
  const queue = new Queue('reconcile', { connection, prefix: system.run });
  const after = Date.now();
  const deadline = after + ms;
  try {
    for (;;) {
      const jobs = await queue.getJobs(['completed'], 0, 99);
      const passes = jobs
        .filter((j) => (j.finishedOn ?? 0) > after)
        .sort((a, b) => (a.finishedOn ?? 0) - (b.finishedOn ?? 0))
        .map((j) => ({ ...(j.returnvalue as ReconcileSummary), finishedOn: j.finishedOn ?? 0 }))
        .filter(seen);
      if (passes.length >= count) return passes.slice(0, count);
      if (Date.now() > deadline) throw new Error(`${passes.length} of ${count} reconcile passes in ${ms} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
