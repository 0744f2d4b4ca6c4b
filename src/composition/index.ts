/**
 * The composition root: builds the shared infrastructure from the
 * configuration and starts the roles a process runs. No DI framework, no
 * globals: everything is built here and handed down.
 */
import type { Config } from '../config.js';
import type { Logger } from '../domain/ports.js';
import type { AfterEnqueueHook } from '../jobs/intake.js';
import type { StepHook } from '../jobs/lifecycle-jobs.js';
import type { ReadinessChecks } from '../http/readiness.js';
import { checkReadiness } from '../http/readiness.js';
import type { Closer } from './infrastructure.js';
import { openInfrastructure } from './infrastructure.js';
import { startIntakeRole } from './intake.js';
import type { OpsPort } from './ops-server.js';
import { serveOps } from './ops-server.js';
import { startWebRole } from './web.js';
import { startWorkerRole } from './worker.js';
import { errorMessage } from '../domain/errors.js';
import { HEALTH_EVENT_TYPES } from '../domain/model.js';

export type Role = 'web' | 'worker' | 'intake' | 'all';

export interface SystemOptions {
  /** Test-only: called at every named step of every lifecycle job (the crash-consistency test kills the worker there). */
  stepHook?: StepHook;
  /** Test-only: called between a stream entry's enqueue and its XACK (the intake fault test kills the intake there). */
  afterEnqueue?: AfterEnqueueHook;
}

export interface RunningSystem {
  stop(): Promise<void>;
}

export async function startSystem(config: Config, role: Role, logger: Logger, options: SystemOptions = {}): Promise<RunningSystem> {
  const runs = (r: Exclude<Role, 'all'>): boolean => role === 'all' || role === r;
  const infra = await openInfrastructure(config, logger);
  // One readiness per process: the checks of every role it runs, read at each
  // probe; not ready until every role has started.
  const readiness: Record<string, ReadinessChecks[string]> = { boot: () => Promise.reject(new Error('still booting')) };
  infra.telemetry.setReadinessSource(async () => {
    const { checks } = await checkReadiness(readiness);
    return Object.fromEntries(Object.entries(checks).map(([name, answer]) => [name, answer === 'ok']));
  });
  // Opened first: a taken port stops boot before the worker takes a job. Closed
  // after the roles: a draining worker still answers /readyz (503) and /metrics.
  const opsPort = opsPortOf(config, role);
  const ops = opsPort ? [await serveOps({ readiness, metricsText: () => infra.telemetry.metricsText(), logger }, opsPort)] : [];

  // Closed in reverse: first what takes work in (web, intake), then the
  // worker's active jobs, then what every role shares.
  const roles: Closer[][] = [];
  if (runs('worker')) {
    // The worker tells the health events: each type is a series from boot, so a rule's increase() sees its first event.
    infra.telemetry.initHealthEventSeries(HEALTH_EVENT_TYPES);
    const worker = await startWorkerRole(infra, options.stepHook);
    roles.unshift(worker.closers);
    Object.assign(readiness, worker.readiness);
  }
  if (runs('intake')) {
    const intake = startIntakeRole(infra, options.afterEnqueue);
    roles.unshift(intake.closers);
    Object.assign(readiness, intake.readiness);
  }
  if (runs('web')) {
    Object.assign(readiness, infra.readiness);
    roles.unshift(startWebRole(infra, readiness));
  }
  delete readiness.boot;
  const closers = [...roles.flat(), ...ops, ...infra.closers];
  return { stop: () => closeAll(closers, config.shutdownGraceMs, logger) };
}

/** Worker and intake run alone each have an ops port; the web port serves the web role and `all` mode. */
function opsPortOf(config: Config, role: Role): OpsPort | null {
  const { host, opsPorts } = config.http;
  if (role === 'worker') return { host, port: opsPorts.worker, variable: 'RTMANAGER_WORKER_OPS_PORT' };
  if (role === 'intake') return { host, port: opsPorts.intake, variable: 'RTMANAGER_INTAKE_OPS_PORT' };
  return null;
}

/** Each closer in turn, a failure logged and passed; past the grace period the process exits 1. */
async function closeAll(closers: Closer[], graceMs: number, logger: Logger): Promise<void> {
  const grace = setTimeout(() => {
    logger.error({ grace_ms: graceMs }, 'shutdown grace exceeded; exiting');
    process.exit(1);
  }, graceMs);
  grace.unref();
  for (const close of closers) {
    try {
      await close();
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'close failed');
    }
  }
  clearTimeout(grace);
}

/**
 * SIGTERM/SIGINT stop taking work, let active jobs finish within the grace
 * period, close connections and exit 0 (1 if closing failed).
 */
export function stopOnSignals(system: RunningSystem, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    system
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: errorMessage(error) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
