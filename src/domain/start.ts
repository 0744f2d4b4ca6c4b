/**
 * The `start` lifecycle: port of the reference `startruntime.go`, branch for
 * branch, and stricter where it was weak (the game id is validated before it
 * becomes a path, a container name or a lease key; a memory label must parse;
 * a re-run after a crash adopts the container it finds instead of failing on
 * the name).
 *
 * Every business outcome is a Result with a stable code. Audit rows, health
 * events and notifications are best effort: their failure is logged and never
 * changes the Result — the runtime record is the source of truth.
 */
import { engineRunSpec } from './container-spec.js';
import type { Converged } from './converge.js';
import { convergeContainer, readAheadLeftBehind } from './converge.js';
import type { PreparedImage } from './engine-image.js';
import { checkImageRef, checkNetwork, inspectEngineImage, pullEngineImage } from './engine-image.js';
import { errorMessage } from './errors.js';
import { gameIdProblem } from './game-id.js';
import { keptOfRefused } from './request-bounds.js';
import type { Failure, LifecycleDeps, LifecycleHooks, LifecycleRequest, LifecycleResult, StepName } from './lifecycle.js';
import type { RuntimeHealth, RuntimeRecord } from './model.js';
import { engineEndpoint, isOpSource } from './model.js';
import type { Operation, StepOutcome } from './operation.js';
import { endWriteRefused, recheckAdopted, removeUnlessClaimed } from './fencing.js';
import { beginOperation, runStep, step } from './operation.js';
import { adopted, CLEANUP_TIMEOUT_MS, createdUntilAdopted, fenceOf, guarded, underLease } from './operation-lease.js';
import { bestEffortHealthEvent, recordFailure, recordSuccess } from './outcomes.js';
import type { RunResult } from './engine-port.js';
import { fetchLobbyDiagnostic } from './lobby-diagnostic.js';
import { awaitHealthy } from './readiness.js';
import { withTimeout } from './timeout.js';

export interface StartInput extends LifecycleRequest {
  imageRef: string;
}

export type StartResult = LifecycleResult;

/** The named steps, in order: they travel into logs (`step`) and test hooks. */
export const START_STEPS = [
  'validate_input',
  'acquire_lease',
  'load_record',
  'lobby_diagnostic',
  'validate_image_ref',
  'check_network',
  'pull_image',
  'inspect_image',
  'prepare_state_dir',
  'converge_container',
  'run_container',
  'await_healthy',
  'upsert_record',
  'publish_success',
] as const satisfies readonly StepName[];

/** Start a game's runtime under its lease: the entry for jobs and handlers. */
export async function startRuntime(deps: LifecycleDeps, input: StartInput, hooks: LifecycleHooks = {}): Promise<StartResult> {
  const op = beginOperation(deps, 'start', input, hooks);
  const invalid = validateInput(input);
  if (invalid) return recordFailure(op, invalid);
  return underLease(op, () => runStartSteps(op));
}

/** What a crash restart's start writes into the record instead of a new window (contract §15). */
export type CarriedCrashCount = Pick<RuntimeRecord, 'restartCount' | 'lastExitCode'>;

/**
 * Start without taking the lease: for orchestrators (restart, patch, a crash
 * restart: `carried`) that already hold the game's lease around a stop and a start.
 */
export async function runStartUnderHeldLease(
  parent: Operation,
  imageRef: string,
  prepared?: PreparedImage,
  replacing?: string,
  carried?: CarriedCrashCount,
): Promise<StartResult> {
  const input: StartInput = { gameId: parent.gameId, imageRef, opSource: parent.opSource, sourceRef: parent.sourceRef };
  // The same lease, fence and undo list as the orchestrator that holds it.
  const op = beginOperation(parent.deps, 'start', input, parent.hooks, parent.lease);
  const invalid = validateInput(input);
  if (invalid) return recordFailure(op, invalid);
  return guarded(op, () => runStartSteps(op, prepared, replacing, carried));
}

/**
 * Records a start refused before it became a job (a stream entry outside the
 * bounds, or one that conflicts with a pending start): the same audit row,
 * notification and counters as a start that failed at that step. The
 * request's fields are kept as given, clipped (request-bounds.ts), so the
 * row can always be written. Throws AuditRowNotWritten when it was not (the
 * database is down): the caller keeps the request and retries (§14).
 */
export async function rejectStart(
  deps: LifecycleDeps,
  input: StartInput,
  refusal: { code: 'start_config_invalid' | 'conflict'; message: string },
): Promise<StartResult> {
  const op = beginOperation(deps, 'start', { ...input, ...keptOfRefused(input) }, {});
  if (refusal.code === 'conflict') return recordFailure(op, { step: 'enqueue', code: 'conflict', message: refusal.message }, 'required');
  return recordFailure(
    op,
    { step: 'validate_input', code: 'start_config_invalid', message: refusal.message, notify: 'runtime.start_config_invalid' },
    'required',
  );
}

/**
 * The steps under the lease, in START_STEPS order.
 * `prepared`: the image an orchestrator (restart, patch) already pulled,
 * inspected and judged under the same lease, before its stop.
 * `replacing`: the running container a patch replaces in place
 * (DockerEngine.replace): the record's `running` is then no conflict, and
 * that container is not removed but handed to `replace`.
 */
async function runStartSteps(op: Operation, prepared?: PreparedImage, replacing?: string, carried?: CarriedCrashCount): Promise<LifecycleResult> {
  const loaded = await runStep(op, 'load_record', () => op.deps.records.get(op.gameId), { code: 'internal_error', context: 'load runtime record' });
  if (!loaded.ok) return recordFailure(op, loaded.failure);
  const existing = loaded.value;
  if (existing?.status === 'running' && !replacing) return endAlreadyRunning(op, existing);

  await step(op, 'lobby_diagnostic');
  await fetchLobbyDiagnostic(op);

  const refused = await checkImageRef(op);
  if (refused) return recordFailure(op, refused);

  const leftBehind = readAheadLeftBehind(op);

  const network = await checkNetwork(op);
  if (!network.ok) return recordFailure(op, network.failure);

  // Not twice: under `always` a second pull would ask the registry again, and wait for it again when it is down.
  const image = prepared ? { ok: true as const, value: prepared } : await pullAndInspect(op);
  if (!image.ok) return recordFailure(op, image.failure);
  op.imageDigest = image.value.digest;
  const { limits, note: pullNote, healthcheck } = image.value;

  const stateDir = await runStep(op, 'prepare_state_dir', () => op.deps.stateDirs.prepare(op.gameId), {
    code: 'start_config_invalid',
    context: 'prepare state directory',
    notify: 'runtime.start_config_invalid',
  });
  if (!stateDir.ok) return recordFailure(op, stateDir.failure);
  const statePath = stateDir.value;

  const converged = await convergeContainer(op, leftBehind, limits, replacing);
  if (!converged.ok) return recordFailure(op, converged.failure);

  const ran = await runContainer(carried ? { ...op, crashRestarts: carried.restartCount } : op, converged.value, statePath, image.value);
  if (!ran.ok) return recordFailure(op, ran.failure);
  const run = ran.value;
  const ready = await awaitHealthy(op, run.containerId, healthcheck);
  if (!ready.ok) return recordFailure(op, ready.failure);
  const record = { ...runningRecord(op, existing, run, statePath, ready.value), ...carried };
  const unwritten = await upsertRecord(op, record, run, converged.value.kind === 'adopt');
  if (unwritten) return unwritten;

  return publishSuccess(op, record, run, pullNote);
}

/** `load_record` found the game running: with this image it is a replay, with another a conflict. */
function endAlreadyRunning(op: Operation, existing: RuntimeRecord): Promise<LifecycleResult> {
  if (existing.currentImageRef === op.imageRef) {
    return recordSuccess(op, { record: existing, containerId: existing.currentContainerId ?? '', replay: true, message: 'runtime start replay no-op' });
  }
  return recordFailure(op, {
    step: 'load_record',
    code: 'conflict',
    message: `runtime already running with image_ref ${JSON.stringify(existing.currentImageRef)}`,
  });
}

/** `run_container`: the adopted leftover, or a new engine (in place of `replace`'s container); a crash restart's says its count. */
async function runContainer(
  op: Operation & { crashRestarts?: number },
  converged: Converged,
  statePath: string,
  image: PreparedImage,
): Promise<StepOutcome<RunResult>> {
  const { deps } = op;
  const replaced = converged.kind === 'replace' ? converged.containerId : null;
  const ran = await runStep(
    op,
    'run_container',
    async () => {
      if (converged.kind === 'adopt') return converged.run;
      const spec = engineRunSpec(deps.settings, op, statePath, image.limits, image.stop);
      return replaced ? deps.docker.replace(replaced, spec) : deps.docker.run(spec);
    },
    { code: 'container_start_failed', notify: 'runtime.container_start_failed' },
  );
  // Ours until the record names it: should the lease be lost first, it goes (fencing.ts says when it may).
  if (ran.ok && converged.kind !== 'adopt') {
    const { containerId } = ran.value;
    createdUntilAdopted(op, containerId, () => removeUnlessClaimed(op, containerId));
  }
  return ran;
}

function runningRecord(op: Operation, existing: RuntimeRecord | null, run: RunResult, statePath: string, health: RuntimeHealth): RuntimeRecord {
  const { settings } = op.deps;
  return {
    gameId: op.gameId,
    status: 'running',
    currentContainerId: run.containerId,
    currentImageRef: op.imageRef,
    engineEndpoint: engineEndpoint(op.gameId, settings.enginePort),
    statePath,
    dockerNetwork: settings.network,
    startedAt: run.startedAt,
    stoppedAt: null,
    lastOpAt: run.startedAt,
    createdAt: existing?.createdAt ?? op.startedAt,
    currentImageDigest: op.imageDigest,
    effectiveCpuQuota: run.effective.cpuQuota,
    effectiveMemoryBytes: run.effective.memoryBytes,
    effectivePidsLimit: run.effective.pidsLimit,
    nodeId: run.node?.id ?? null,
    // Contract §15: as await_healthy found it; a start by an operation opens a new crash window.
    health,
    restartCount: 0,
    lastExitCode: existing?.lastExitCode ?? null,
    nodeHostname: run.node?.hostname ?? null,
  };
}

/**
 * `upsert_record`: the Result the start ends in when the record does not
 * name the container (written elsewhere, refused, or gone since), or null.
 * Departure from the reference, which answers container_start_failed (never
 * retried): the container is rolled back, so a retry is safe, and a database
 * that blinked must not lose an accepted start. internal_error is retryable
 * (contract §4); a database that stays down still ends the job after its
 * attempts, with this code.
 */
async function upsertRecord(op: Operation, record: RuntimeRecord, run: RunResult, adoptedLeftover: boolean): Promise<LifecycleResult | null> {
  const written = await runStep(op, 'upsert_record', () => op.deps.records.upsert(record, fenceOf(op)), {
    code: 'internal_error',
    context: 'upsert runtime record',
    containerId: run.containerId,
  });
  if (!written.ok) {
    adopted(op, run.containerId);
    await rollbackContainer(op, run.containerId);
    return recordFailure(op, written.failure);
  }
  // Refused for its fence: a newer holder owns the game (or Redis went back). What we made and it did not adopt goes.
  if (!written.value) return endWriteRefused(op, run.containerId);
  adopted(op, run.containerId);
  const vanished = adoptedLeftover ? await recheckAdopted(op, record) : null;
  return vanished ? recordFailure(op, vanished) : null;
}

async function publishSuccess(op: Operation, record: RuntimeRecord, run: RunResult, pullNote: string | null): Promise<LifecycleResult> {
  await step(op, 'publish_success');
  const result = await recordSuccess(op, {
    record,
    containerId: run.containerId,
    replay: false,
    message: 'runtime started',
    ...(pullNote ? { note: pullNote } : {}),
  });
  await bestEffortHealthEvent(op, {
    containerId: run.containerId,
    eventType: 'container_started',
    occurredAt: run.startedAt,
    details: { image_ref: op.imageRef },
  });
  return result;
}

/** `pull_image` then `inspect_image`: any failure of the pull is the image's (image_pull_failed). */
async function pullAndInspect(op: Operation): Promise<StepOutcome<PreparedImage>> {
  const pulled = await runStep(op, 'pull_image', () => pullEngineImage(op), { code: 'image_pull_failed', notify: 'runtime.image_pull_failed' });
  if (!pulled.ok) return pulled;
  return inspectEngineImage(op, pulled.value);
}

/** Stricter than the reference: the game id must match contract §3. */
function validateInput(input: StartInput): Failure | null {
  const problem =
    gameIdProblem(input.gameId) ??
    (input.imageRef.trim() === '' ? 'image ref must not be empty' : null) ??
    (isOpSource(input.opSource) ? null : `op source ${JSON.stringify(input.opSource)} is unsupported`);
  if (!problem) return null;
  return { step: 'validate_input', code: 'start_config_invalid', message: problem, notify: 'runtime.start_config_invalid' };
}

/** The record could not be written: the container must not outlive the attempt. */
async function rollbackContainer(op: Operation, containerId: string): Promise<void> {
  try {
    await withTimeout(op.deps.docker.remove(containerId), CLEANUP_TIMEOUT_MS);
  } catch (error) {
    // The reconciler adopts or disposes of what a failed rollback leaves.
    op.log.error({ step: 'upsert_record', container_id: containerId, err: errorMessage(error) }, 'rollback container after upsert failure');
  }
}
