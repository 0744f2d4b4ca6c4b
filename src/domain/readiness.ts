/**
 * The start's `await_healthy` step (contract §15): a container that runs is
 * not yet an engine that serves. For an image with a `HEALTHCHECK` the start
 * succeeds only once Docker says `healthy`; `unhealthy`, an engine gone
 * before its verdict, or no verdict within RTMANAGER_START_HEALTH_TIMEOUT_MS
 * is `container_start_failed`, and the container goes as after a failed run
 * (the state directory stays, as it does after every failure). An image
 * without one is not waited for: its health is `none`.
 */
import { errorMessage } from './errors.js';
import { removeUnlessClaimed } from './fencing.js';
import type { Failure } from './lifecycle.js';
import type { RuntimeHealth } from './model.js';
import type { Operation, StepOutcome } from './operation.js';
import { runStep } from './operation.js';
import { adopted, CLEANUP_TIMEOUT_MS } from './operation-lease.js';
import type { HealthVerdict } from './engine-port.js';
import { withTimeout } from './timeout.js';

/** The health the record starts with, or the failure the start ends in (its container removed). */
export async function awaitHealthy(op: Operation, containerId: string, healthcheck: boolean): Promise<StepOutcome<RuntimeHealth>> {
  const { docker, settings } = op.deps;
  const timeoutMs = settings.startHealthTimeoutMs;
  const verdict = await runStep(op, 'await_healthy', () => (healthcheck ? docker.awaitHealth(containerId, timeoutMs) : Promise.resolve('none' as const)), {
    code: 'container_start_failed',
    context: 'await engine health',
    notify: 'runtime.container_start_failed',
    containerId,
  });
  if (!verdict.ok) return removedFor(op, containerId, verdict.failure);
  const answer = verdict.value;
  if (answer === 'healthy' || answer === 'none') return { ok: true, value: answer };
  const message = verdictMessage(answer, timeoutMs);
  return removedFor(op, containerId, { step: 'await_healthy', code: 'container_start_failed', message, notify: 'runtime.container_start_failed', containerId });
}

function verdictMessage(verdict: Exclude<HealthVerdict, 'healthy' | 'none'>, timeoutMs: number): string {
  switch (verdict) {
    case 'unhealthy':
      return 'engine turned unhealthy before it was ready (its HEALTHCHECK failed)';
    case 'gone':
      return 'engine stopped before its HEALTHCHECK said healthy';
    case 'timeout':
      return `engine not healthy within ${timeoutMs} ms (RTMANAGER_START_HEALTH_TIMEOUT_MS)`;
  }
}

/**
 * An engine that is not ready must not outlive the start: removed as an undo
 * is (never one a record or a newer holder names), whether this start
 * created it or adopted it from an earlier attempt. A retry starts afresh.
 */
async function removedFor(op: Operation, containerId: string, failure: Failure): Promise<StepOutcome<never>> {
  adopted(op, containerId);
  try {
    await withTimeout(removeUnlessClaimed(op, containerId), CLEANUP_TIMEOUT_MS);
  } catch (error) {
    // The reconciler adopts or disposes of what a failed removal leaves.
    op.log.error({ step: 'await_healthy', container_id: containerId, err: errorMessage(error) }, 'remove an engine that is not ready');
  }
  return { ok: false, failure };
}
