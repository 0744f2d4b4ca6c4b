/**
 * The `stop` lifecycle: the container's own stop signal with its own bounded
 * wait (contract §15: set at its creation from the image), then kill; remove
 * the container; record `stopped`, with the exit code the engine ended on.
 * The state directory is kept: a later start finds the game's data where it
 * left it. Stopping a game that is not running is an idempotent success
 * (`replay_no_op`).
 */
import { isOwnedBy } from './container-spec.js';
import { gameIdProblem } from './game-id.js';
import type { Failure, LifecycleDeps, LifecycleHooks, LifecycleRequest, LifecycleResult, StepName } from './lifecycle.js';
import type { RuntimeRecord } from './model.js';
import type { ContainerInfo } from './engine-port.js';
import { containerName, isOpSource } from './model.js';
import type { Operation, StepOutcome } from './operation.js';
import { endWriteRefused } from './fencing.js';
import { beginOperation, runStep, step, withImage } from './operation.js';
import { fenceOf, underLease } from './operation-lease.js';
import { bestEffortHealthEvent, recordFailure, recordSuccess } from './outcomes.js';

export const STOP_STEPS = [
  'validate_input',
  'acquire_lease',
  'load_record',
  'find_container',
  'stop_container',
  'remove_container',
  'upsert_record',
  'publish_success',
] as const satisfies readonly StepName[];

export type StopInput = LifecycleRequest;

export async function stopRuntime(deps: LifecycleDeps, input: StopInput, hooks: LifecycleHooks = {}): Promise<LifecycleResult> {
  const op = beginOperation(deps, 'stop', { ...input, imageRef: '' }, hooks);
  const problem = requestProblem(input);
  if (problem) return recordFailure(op, { step: 'validate_input', code: 'start_config_invalid', message: problem });
  return underLease(op, () => runStopSteps(op));
}

/** Contract §3 for what every lifecycle request carries. */
export function requestProblem(input: LifecycleRequest): string | null {
  return gameIdProblem(input.gameId) ?? (isOpSource(input.opSource) ? null : `op source ${JSON.stringify(input.opSource)} is unsupported`);
}

/** What a stop under a held lease ends in; `op` names the image the record said the game ran; `exit`, how its engine ended, if it had one. */
export type Stopped =
  { ok: true; op: Operation; record: RuntimeRecord | null; changed: boolean; exit: EngineExit | null } | { ok: false; result: LifecycleResult };

/**
 * How the container a stop removed had ended: by this stop (`operation`), or
 * on its own before the stop came (`engine`). The exit code is null when the
 * backend no longer knows it (a cluster whose task went with its node).
 */
export interface EngineExit {
  exitCode: number | null;
  oomKilled: boolean;
  stoppedBy: 'operation' | 'engine';
}

/** The stop steps under the lease `given` holds, from reading the record on. */
async function stopUnderHeldLease(given: Operation): Promise<Stopped> {
  const loaded = await loadRecord(given);
  if (!loaded.ok) return failed(given, loaded.failure);
  return stopLoadedUnderHeldLease(given, loaded.value);
}

/** The `load_record` step of stop, restart and patch. */
export function loadRecord(op: Operation): Promise<StepOutcome<RuntimeRecord | null>> {
  return runStep(op, 'load_record', () => op.deps.records.get(op.gameId), { code: 'internal_error', context: 'load_record' });
}

/**
 * The stop, for a caller that read the record itself under the lease it
 * holds (restart and patch: they pull before they stop).
 * Docker, not the record, says whether something runs: a crash may have left
 * a container the record does not name, so the game's container is looked up
 * by id and by name, and only one we own is touched. Each failure message
 * starts with its step's name.
 */
export async function stopLoadedUnderHeldLease(given: Operation, record: RuntimeRecord | null): Promise<Stopped> {
  const op = given.imageRef === '' && record?.currentImageRef ? withImage(given, record.currentImageRef, record.currentImageDigest) : given;

  const found = await findContainer(op, record);
  if (!found.ok) return failed(op, found.failure);
  const container = found.value;

  const stopped = container ? await stopAndRemove(op, container) : { ok: true as const, value: null };
  if (!stopped.ok) return failed(op, stopped.failure);

  if (!record || (record.status !== 'running' && !container)) {
    return { ok: true, op, record, changed: container !== null, exit: stopped.value };
  }
  return recordStopped(op, record, container, stopped.value);
}

/**
 * The crash restart's stop (crash-policy.ts): the crashed container ended
 * and removed, by its id only — another under the game's name is what an
 * earlier run of the same restart started, which its start adopts — and the
 * record left for the caller to write. Its exit is told only when this stop
 * ended a running engine: the reconciler told an engine's own.
 */
export async function removeEngine(op: Operation, containerId: string): Promise<StepOutcome<EngineExit | null>> {
  const found = await runStep(
    op,
    'find_container',
    async () => {
      const container = await op.deps.docker.inspectContainer(containerId);
      return container && isOwnedBy(container.labels, op.gameId) ? container : null;
    },
    { code: 'service_unavailable', context: 'find_container' },
  );
  if (!found.ok || !found.value) return found.ok ? { ok: true, value: null } : found;
  const container = found.value;
  const stopped = await stopAndRemove(op, container);
  if (stopped.ok && stopped.value.stoppedBy === 'operation') await tellExit(op, container.id, stopped.value);
  return stopped;
}

async function failed(op: Operation, failure: Failure): Promise<Stopped> {
  return { ok: false, result: await recordFailure(op, failure) };
}

/** `find_container`: the record's container by id, else the game's by name; only one we own. */
function findContainer(op: Operation, record: RuntimeRecord | null): Promise<StepOutcome<ContainerInfo | null>> {
  const { docker } = op.deps;
  return runStep(
    op,
    'find_container',
    async () => {
      const byId = record?.currentContainerId ? await docker.inspectContainer(record.currentContainerId) : null;
      const candidate = byId ?? (await docker.inspectContainer(containerName(op.gameId)));
      return candidate && isOwnedBy(candidate.labels, op.gameId) ? candidate : null;
    },
    { code: 'service_unavailable', context: 'find_container' },
  );
}

/** `stop_container` then `remove_container`: how the stopped container ended. */
async function stopAndRemove(op: Operation, container: ContainerInfo): Promise<StepOutcome<EngineExit>> {
  const { deps } = op;
  // The container's own timeout, set from its image at creation; the configured one for a container created without.
  const timeoutSeconds = container.stopTimeoutSeconds ?? deps.settings.stopTimeoutSeconds;
  const stopped = await runStep(
    op,
    'stop_container',
    async (): Promise<EngineExit> => {
      await deps.docker.stop(container.id, timeoutSeconds);
      const ended = await deps.docker.inspectContainer(container.id);
      return { exitCode: ended?.exitCode ?? null, oomKilled: ended?.oomKilled ?? false, stoppedBy: container.running ? 'operation' : 'engine' };
    },
    { code: 'service_unavailable', context: 'stop_container', containerId: container.id },
  );
  if (!stopped.ok) return stopped;
  const removed = await runStep(op, 'remove_container', () => deps.docker.remove(container.id), {
    code: 'service_unavailable',
    context: 'remove_container',
    containerId: container.id,
  });
  return removed.ok ? stopped : removed;
}

/** `upsert_record`: the record says `stopped`; a container that was stopped is told as a health event. */
async function recordStopped(op: Operation, record: RuntimeRecord, container: ContainerInfo | null, exit: EngineExit | null): Promise<Stopped> {
  const { deps } = op;
  const now = deps.clock.now();
  // The digest stays: the image the game last ran. The effective limits and the node went with the container.
  const stoppedRecord: RuntimeRecord = {
    ...record,
    status: 'stopped',
    currentContainerId: null,
    stoppedAt: now,
    lastOpAt: now,
    effectiveCpuQuota: null,
    effectiveMemoryBytes: null,
    effectivePidsLimit: null,
    nodeId: null,
    nodeHostname: null,
    // What the engine just ended on; a record whose container was already gone keeps the last one known.
    lastExitCode: exit ? exit.exitCode : record.lastExitCode,
  };
  const written = await runStep(op, 'upsert_record', () => deps.records.upsert(stoppedRecord, fenceOf(op)), {
    code: 'internal_error',
    context: 'upsert_record: upsert runtime record',
    containerId: container?.id ?? '',
  });
  if (!written.ok) return failed(op, written.failure);
  if (!written.value) return { ok: false, result: await endWriteRefused(op, container?.id ?? '') };
  if (container && exit) await tellExit(op, container.id, exit, now);
  return { ok: true, op, record: stoppedRecord, changed: true, exit };
}

function tellExit(op: Operation, containerId: string, exit: EngineExit, at = op.deps.clock.now()): Promise<void> {
  return bestEffortHealthEvent(op, {
    containerId,
    eventType: 'container_exited',
    occurredAt: at,
    details: { reason: `${op.kind}_requested`, exit_code: exit.exitCode, oom_killed: exit.oomKilled, stopped_by: exit.stoppedBy },
  });
}

async function runStopSteps(given: Operation): Promise<LifecycleResult> {
  const stopped = await stopUnderHeldLease(given);
  if (!stopped.ok) return stopped.result;
  const { op } = stopped;
  await step(op, 'publish_success');
  return recordSuccess(op, {
    record: stopped.record,
    containerId: '',
    replay: !stopped.changed,
    message: stopped.changed ? 'runtime stopped' : 'runtime stop replay no-op',
    exitCode: stopped.exit?.exitCode ?? null,
  });
}
