/**
 * The `stop` lifecycle: SIGTERM with a bounded wait, then kill; remove the
 * container; record `stopped`. The state directory is kept: a later start
 * finds the game's data where it left it. Stopping a game that is not running
 * is an idempotent success (`replay_no_op`).
 */
import { LEASE_LOST_MESSAGE } from './errors.js';
import { gameIdProblem } from './game-id.js';
import { isOwnedBy } from './container-spec.js';
import type { OpSource, RuntimeRecord } from './model.js';
import type { ContainerInfo } from './ports.js';
import { containerName, isOpSource } from './model.js';
import type { LifecycleDeps, LifecycleResult, Operation } from './operation.js';
import { beginOperation, bestEffortHealthEvent, errorMessage, recordFailure, recordSuccess, step, underLease } from './operation.js';
import type { StartHooks } from './start-types.js';

export const STOP_STEPS = ['validate_input', 'acquire_lease', 'load_record', 'find_container', 'stop_container', 'remove_container', 'upsert_record', 'publish_success'] as const;

export interface StopInput {
  gameId: string;
  opSource: OpSource;
  sourceRef: string;
  /** See StartInput.leaseToken. */
  leaseToken?: string;
}

export async function stopRuntime(deps: LifecycleDeps, input: StopInput, hooks: StartHooks = {}): Promise<LifecycleResult> {
  const op = beginOperation(deps, 'stop', { ...input, imageRef: '' }, hooks);
  const problem = gameIdProblem(input.gameId) ?? (isOpSource(input.opSource) ? null : `op source ${JSON.stringify(input.opSource)} is unsupported`);
  if (problem) return recordFailure(op, { step: 'validate_input', code: 'start_config_invalid', message: problem });
  return underLease(op, () => runStopSteps(op));
}

/**
 * The stop steps for a caller that already holds the lease (restart, patch).
 * Docker, not the record, says whether something runs: a crash may have left
 * a container the record does not name, so the game's container is looked up
 * by id and by name, and only one we own is touched.
 */
export async function stopUnderHeldLease(
  op: Operation,
): Promise<{ ok: true; record: RuntimeRecord | null; changed: boolean } | { ok: false; result: LifecycleResult }> {
  const { deps } = op;
  const fail = async (code: 'internal_error' | 'service_unavailable', message: string, containerId = '') => ({
    ok: false as const,
    result: await recordFailure(op, { step: op.currentStep, code, message: `${op.currentStep}: ${message}`, containerId }),
  });

  await step(op, 'load_record');
  let record: RuntimeRecord | null;
  try {
    record = await deps.records.get(op.gameId);
  } catch (error) {
    return fail('internal_error', errorMessage(error));
  }
  if (op.imageRef === '' && record?.currentImageRef) op.imageRef = record.currentImageRef;

  await step(op, 'find_container');
  let container: ContainerInfo | null;
  try {
    const byId = record?.currentContainerId ? await deps.docker.inspectContainer(record.currentContainerId) : null;
    const candidate = byId ?? (await deps.docker.inspectContainer(containerName(op.gameId)));
    container = candidate && isOwnedBy(candidate.labels, op.gameId) ? candidate : null;
  } catch (error) {
    return fail('service_unavailable', errorMessage(error));
  }

  let exitCode: number | null = null;
  if (container) {
    try {
      await step(op, 'stop_container');
      await deps.docker.stop(container.id, deps.settings.stopTimeoutSeconds);
      exitCode = (await deps.docker.inspectContainer(container.id))?.exitCode ?? null;
      await step(op, 'remove_container');
      await deps.docker.remove(container.id);
    } catch (error) {
      return fail('service_unavailable', errorMessage(error), container.id);
    }
  }

  if (!record || (record.status !== 'running' && !container)) {
    return { ok: true, record, changed: container !== null };
  }

  await step(op, 'upsert_record');
  const now = deps.clock.now();
  const stopped: RuntimeRecord = { ...record, status: 'stopped', currentContainerId: null, stoppedAt: now, lastOpAt: now };
  let written: boolean;
  try {
    written = await deps.records.upsert(stopped, op.fence);
  } catch (error) {
    return fail('internal_error', `upsert runtime record: ${errorMessage(error)}`, container?.id ?? '');
  }
  if (!written) {
    const failure = { step: 'upsert_record', code: 'conflict', message: LEASE_LOST_MESSAGE, leaseBusy: true, containerId: container?.id ?? '' } as const;
    return { ok: false, result: await recordFailure(op, failure) };
  }
  if (container) {
    await bestEffortHealthEvent(op, {
      containerId: container.id,
      eventType: 'container_exited',
      occurredAt: now,
      details: { reason: `${op.kind}_requested`, exit_code: exitCode },
    });
  }
  return { ok: true, record: stopped, changed: true };
}

async function runStopSteps(op: Operation): Promise<LifecycleResult> {
  const stopped = await stopUnderHeldLease(op);
  if (!stopped.ok) return stopped.result;
  await step(op, 'publish_success');
  return recordSuccess(op, {
    record: stopped.record,
    containerId: '',
    replay: !stopped.changed,
    message: stopped.changed ? 'runtime stopped' : 'runtime stop replay no-op',
  });
}
