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
import { engineEnv, engineLabels, isOwnedBy, resolveLimits } from './container-spec.js';
import { isDockerDeadline, LEASE_LOST_MESSAGE } from './errors.js';
import { gameIdProblem } from './game-id.js';
import { parseImageRef } from './image-ref.js';
import { parseKeyValues } from './key-values.js';
import type { RuntimeRecord } from './model.js';
import { containerName, engineEndpoint, isOpSource, LABEL_ENGINE_IMAGE_REF } from './model.js';
import type { Failure, LifecycleResult, Operation } from './operation.js';
import {
  beginOperation,
  bestEffortHealthEvent,
  CLEANUP_TIMEOUT_MS,
  errorMessage,
  guarded,
  recordFailure,
  recordSuccess,
  step,
  underLease,
  withTimeout,
} from './operation.js';
import type { RunResult } from './ports.js';
import type { StartDeps, StartHooks, StartInput, StartResult } from './start-types.js';

export type { StartDeps, StartHooks, StartInput, StartResult } from './start-types.js';

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
  'upsert_record',
  'publish_success',
] as const;

/** Bounds the lobby lookup: a diagnostic must never hold a start up for long. */
const LOBBY_TIMEOUT_MS = 1_000;

/** Start a game's runtime under its lease: the entry for jobs and handlers. */
export async function startRuntime(deps: StartDeps, input: StartInput, hooks: StartHooks = {}): Promise<StartResult> {
  const op = beginOperation(deps, 'start', input, hooks);
  const invalid = validateInput(input);
  if (invalid) return recordFailure(op, invalid);
  return underLease(op, () => runStartSteps(op));
}

/**
 * Start without taking the lease: for orchestrators (restart, patch) that
 * already hold the game's lease around a stop and a start; `fence` is that
 * lease's, so the record is written as theirs.
 */
export async function runStartUnderHeldLease(deps: StartDeps, input: StartInput & { fence: number }, hooks: StartHooks = {}): Promise<StartResult> {
  const op = beginOperation(deps, 'start', input, hooks);
  op.fence = input.fence;
  const invalid = validateInput(input);
  if (invalid) return recordFailure(op, invalid);
  return guarded(op, () => runStartSteps(op));
}

/**
 * Records a start refused before it became a job (a stream entry that is
 * invalid, or conflicts with a pending start): the same audit row,
 * notification and counters as a start that failed at that step.
 */
export async function rejectStart(deps: StartDeps, input: StartInput, conflictMessage: string | null): Promise<StartResult> {
  const op = beginOperation(deps, 'start', input, {});
  const invalid = validateInput(input);
  if (invalid) return recordFailure(op, invalid);
  return recordFailure(op, {
    step: 'enqueue',
    code: conflictMessage === null ? 'start_config_invalid' : 'conflict',
    message: conflictMessage ?? 'start request refused',
  });
}

async function runStartSteps(op: Operation): Promise<LifecycleResult> {
  const { deps } = op;
  const { settings } = deps;

  await step(op, 'load_record');
  let existing: RuntimeRecord | null;
  try {
    existing = await deps.records.get(op.gameId);
  } catch (error) {
    return recordFailure(op, { step: 'load_record', code: 'internal_error', message: `load runtime record: ${errorMessage(error)}` });
  }
  if (existing?.status === 'running') {
    if (existing.currentImageRef === op.imageRef) {
      return recordSuccess(op, { record: existing, containerId: existing.currentContainerId ?? '', replay: true, message: 'runtime start replay no-op' });
    }
    return recordFailure(op, {
      step: 'load_record',
      code: 'conflict',
      message: `runtime already running with image_ref ${JSON.stringify(existing.currentImageRef)}`,
    });
  }

  await step(op, 'lobby_diagnostic');
  await fetchLobbyDiagnostic(op);

  await step(op, 'validate_image_ref');
  const parsed = parseImageRef(op.imageRef);
  if (!parsed.ok) {
    return recordFailure(op, {
      step: 'validate_image_ref',
      code: 'start_config_invalid',
      message: `invalid image_ref: ${parsed.reason}`,
      notify: 'runtime.start_config_invalid',
    });
  }

  const name = containerName(op.gameId);
  // Read ahead, under the lease: what a previous attempt left under our name is
  // asked now, beside the network, image and directory checks, and judged in
  // its own step below. A read only; on the common path it saves the start a
  // round trip to the daemon.
  const leftBehind = settled(deps.docker.inspectContainer(name));

  await step(op, 'check_network');
  try {
    if (!(await deps.docker.networkExists(settings.network))) {
      return recordFailure(op, {
        step: 'check_network',
        code: 'start_config_invalid',
        message: `docker network ${JSON.stringify(settings.network)} is missing`,
        notify: 'runtime.start_config_invalid',
      });
    }
  } catch (error) {
    return recordFailure(op, { step: 'check_network', code: 'service_unavailable', message: `ensure docker network: ${errorMessage(error)}` });
  }

  await step(op, 'pull_image');
  try {
    await deps.docker.pullImage(op.imageRef, settings.pullPolicy, op.hooks.onPullProgress);
  } catch (error) {
    return recordFailure(op, dockerFailure('pull_image', error, { code: 'image_pull_failed', message: errorMessage(error), notify: 'runtime.image_pull_failed' }));
  }

  await step(op, 'inspect_image');
  let imageLabels: Record<string, string>;
  try {
    imageLabels = (await deps.docker.inspectImage(op.imageRef)).labels;
  } catch (error) {
    return recordFailure(
      op,
      dockerFailure('inspect_image', error, { code: 'image_pull_failed', message: `inspect image: ${errorMessage(error)}`, notify: 'runtime.image_pull_failed' }),
    );
  }
  const limits = resolveLimits(imageLabels, settings);

  await step(op, 'prepare_state_dir');
  let statePath: string;
  try {
    statePath = await deps.stateDirs.prepare(op.gameId);
  } catch (error) {
    return recordFailure(op, {
      step: 'prepare_state_dir',
      code: 'start_config_invalid',
      message: `prepare state directory: ${errorMessage(error)}`,
      notify: 'runtime.start_config_invalid',
    });
  }

  // A job runs at least once: a worker that died after `run` left a container
  // with our name. Adopt it when it is what was asked for, replace it when it
  // is ours but stale, and never touch one we do not own.
  await step(op, 'converge_container');
  let adopted: RunResult | null = null;
  const ahead = await leftBehind;
  if (!ahead.ok) {
    return recordFailure(op, { step: 'converge_container', code: 'service_unavailable', message: `inspect existing container: ${errorMessage(ahead.error)}` });
  }
  try {
    const found = ahead.value;
    if (found) {
      if (!isOwnedBy(found.labels, op.gameId)) {
        return recordFailure(op, {
          step: 'converge_container',
          code: 'container_start_failed',
          message: `container name ${JSON.stringify(name)} is taken by a container rtmanager does not own`,
          notify: 'runtime.container_start_failed',
        });
      }
      if (found.running && found.labels[LABEL_ENGINE_IMAGE_REF] === op.imageRef) {
        adopted = { containerId: found.id, startedAt: found.startedAt ?? deps.clock.now() };
        op.log.info({ step: 'converge_container', container_id: found.id }, 'adopting the container a previous attempt started');
      } else {
        op.log.info({ step: 'converge_container', container_id: found.id, container_state: found.state }, 'replacing a stale container of this game');
        await deps.docker.remove(found.id);
      }
    }
  } catch (error) {
    return recordFailure(op, { step: 'converge_container', code: 'service_unavailable', message: `replace stale container: ${errorMessage(error)}` });
  }

  await step(op, 'run_container');
  let run: RunResult;
  if (adopted) {
    run = adopted;
  } else {
    try {
      run = await deps.docker.run({
        name,
        hostname: name,
        image: op.imageRef,
        network: settings.network,
        env: engineEnv(settings.engineStateMountPath, settings.engineStateEnvName),
        labels: { ...settings.extraLabels, ...engineLabels(op.gameId, op.imageRef, op.startedAt) },
        bindMounts: [{ hostPath: statePath, mountPath: settings.engineStateMountPath, readOnly: false }],
        logDriver: settings.logDriver,
        logOpts: parseKeyValues(settings.logOpts),
        nanoCpus: limits.nanoCpus,
        memoryBytes: limits.memoryBytes,
        pidsLimit: limits.pidsLimit,
      });
    } catch (error) {
      return recordFailure(
        op,
        dockerFailure('run_container', error, { code: 'container_start_failed', message: errorMessage(error), notify: 'runtime.container_start_failed' }),
      );
    }
  }

  await step(op, 'upsert_record');
  const record: RuntimeRecord = {
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
  };
  let written: boolean;
  try {
    written = await deps.records.upsert(record, op.fence);
  } catch (error) {
    await rollbackContainer(op, run.containerId);
    // Departure from the reference, which answers container_start_failed
    // (never retried): the container is rolled back, so a retry is safe, and a
    // database that blinked must not lose an accepted start. internal_error is
    // retryable (contract §4); a database that stays down still ends the job
    // after its attempts, with this code.
    return recordFailure(op, {
      step: 'upsert_record',
      code: 'internal_error',
      message: `upsert runtime record: ${errorMessage(error)}`,
      containerId: run.containerId,
    });
  }
  if (!written) {
    // A newer operation owns the game: what this attempt created must go, but
    // an adopted container was not ours to create and may be the newer one's.
    if (!adopted) await rollbackContainer(op, run.containerId);
    return recordFailure(op, { step: 'upsert_record', code: 'conflict', message: LEASE_LOST_MESSAGE, leaseBusy: true, containerId: run.containerId });
  }

  await step(op, 'publish_success');
  const result = await recordSuccess(op, { record, containerId: run.containerId, replay: false, message: 'runtime started' });
  await bestEffortHealthEvent(op, {
    containerId: run.containerId,
    eventType: 'container_started',
    occurredAt: run.startedAt,
    details: { image_ref: op.imageRef },
  });
  return result;
}

/**
 * A daemon's refusal is the step's own failure; a call past its deadline is
 * not a refusal (the daemon may yet do it), so it is a retryable
 * service_unavailable with no admin notification, and the re-run converges.
 */
function dockerFailure(step: string, error: unknown, refusal: Omit<Failure, 'step'>): Failure {
  if (isDockerDeadline(error)) return { step, code: 'service_unavailable', message: `${step}: ${errorMessage(error)}` };
  return { step, ...refusal };
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

async function fetchLobbyDiagnostic(op: Operation): Promise<void> {
  const lobby = op.deps.lobby;
  if (!lobby) return;
  try {
    const game = await withTimeout(lobby.getGame(op.gameId), LOBBY_TIMEOUT_MS);
    op.log.debug(
      { step: 'lobby_diagnostic', lobby_status: game.status, lobby_target_engine_version: game.targetEngineVersion },
      'lobby diagnostic fetched',
    );
  } catch (error) {
    op.log.debug({ step: 'lobby_diagnostic', err: errorMessage(error) }, 'lobby diagnostic fetch failed');
  }
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

/** A promise that never rejects (so reading ahead never leaves an unhandled rejection), carrying its outcome. */
function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}
