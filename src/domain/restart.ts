/**
 * `restart` and `patch`: the image's checks, a stop and a start under ONE
 * lease, so no other operation can slip between them. The hostname, engine
 * endpoint and state directory stay the same; patch moves the game onto a
 * new, validated image. Everything the start would refuse of the image is
 * asked before the stop (contract §14), so a refusal leaves the game running.
 * The inner start writes its own `start` audit row, as the reference's Run
 * does; the outer operation writes the `restart` / `patch` row.
 */
import type { PreparedImage } from './engine-image.js';
import { checkImageRef, checkNetwork, inspectEngineImage, pullEngineImage } from './engine-image.js';
import { imageRefProblem } from './image-ref.js';
import type { LifecycleDeps, LifecycleHooks, LifecycleRequest, LifecycleResult } from './lifecycle.js';
import { errorMessage } from './errors.js';
import { isImagePullFailed } from './image-pull.js';
import type { Operation, StepOutcome } from './operation.js';
import { beginOperation, step, withImage } from './operation.js';
import { underLease } from './operation-lease.js';
import { recordFailure, recordSuccess } from './outcomes.js';
import type { CarriedCrashCount } from './start.js';
import { runStartUnderHeldLease } from './start.js';
import { loadRecord, requestProblem, stopLoadedUnderHeldLease } from './stop.js';

export type RestartInput = LifecycleRequest;

export interface PatchInput extends RestartInput {
  imageRef: string;
}

export async function restartRuntime(deps: LifecycleDeps, input: RestartInput, hooks: LifecycleHooks = {}): Promise<LifecycleResult> {
  const op = beginOperation(deps, 'restart', { ...input, imageRef: '' }, hooks);
  const problem = requestProblem(input);
  if (problem) return recordFailure(op, { step: 'validate_input', code: 'start_config_invalid', message: problem });
  return underLease(op, () => recreate(op, null));
}

export async function patchRuntime(deps: LifecycleDeps, input: PatchInput, hooks: LifecycleHooks = {}): Promise<LifecycleResult> {
  const op = beginOperation(deps, 'patch', input, hooks);
  // Before the lease too: a ref the start would refuse need not wait for the game's lease (a restart's ref is the record's).
  const problem = requestProblem(input) ?? imageRefProblem(input.imageRef, deps.settings.allowedRegistries);
  if (problem) return recordFailure(op, { step: 'validate_input', code: 'start_config_invalid', message: problem, notify: 'runtime.start_config_invalid' });
  return underLease(op, () => recreate(op, input.imageRef));
}

async function recreate(given: Operation, newImageRef: string | null): Promise<LifecycleResult> {
  const loaded = await loadRecord(given);
  if (!loaded.ok) return recordFailure(given, loaded.failure);
  const record = loaded.value;
  const imageRef = newImageRef ?? record?.currentImageRef ?? null;

  // The image first, while the old engine still serves: the pull is the slow
  // part of a recreate and must not be downtime, and an image the start would
  // refuse (a registry no longer allowed, a missing tag, a refused credential,
  // a limit out of bounds) must not cost the game its running engine. A game
  // with no image to recreate goes on to the stop, which clears what a crash
  // may have left, and then fails below.
  let prepared: PreparedImage | undefined;
  if (imageRef) {
    const imageOp = withImage(given, imageRef);
    const ready = await prepareBeforeStop(imageOp);
    if (!ready.ok) return recordFailure(imageOp, ready.failure);
    prepared = ready.value;
  }

  // A patch on an engine that can replace in place (a cluster's rolling
  // update) does not stop first: on failure the previous engine comes back.
  const inPlace = given.kind === 'patch' && given.deps.docker.capabilities.replaceInPlace && record?.status === 'running' ? record.currentContainerId : null;
  if (imageRef && inPlace) return startAndFinish(withImage(given, imageRef), imageRef, prepared, inPlace);

  const stopped = await stopLoadedUnderHeldLease(given, record);
  if (!stopped.ok) return stopped.result;
  if (!imageRef) {
    return recordFailure(stopped.op, {
      step: 'load_record',
      code: 'start_config_invalid',
      message: `game ${JSON.stringify(given.gameId)} has no runtime to ${given.kind}`,
    });
  }
  return startAndFinish(withImage(stopped.op, imageRef), imageRef, prepared, undefined, stopped.exit?.exitCode ?? null);
}

/**
 * The start under the held lease (replacing `replacing` in place, if given), and the outer operation's
 * outcome; its row carries the exit code of the engine the stop ended (`stoppedExitCode`), as a stop's does.
 * A crash restart (crash-policy.ts) hands the record its crash count (`carried`).
 */
export async function startAndFinish(
  op: Operation,
  imageRef: string,
  prepared: PreparedImage | undefined,
  replacing?: string,
  stoppedExitCode: number | null = null,
  carried?: CarriedCrashCount,
): Promise<LifecycleResult> {
  await step(op, 'start');
  const started = await runStartUnderHeldLease(op, imageRef, prepared, replacing, carried);
  if (started.outcome === 'failure') {
    // A lease conflict (the lease lost under the inner start) stays one, and so retryable.
    return recordFailure(op, { step: 'start', code: started.errorCode, message: started.errorMessage, ...(started.lease ? { lease: started.lease } : {}) });
  }
  op.imageDigest = started.record?.currentImageDigest ?? null;
  await step(op, 'publish_success');
  return recordSuccess(op, {
    record: started.record,
    containerId: started.record?.currentContainerId ?? '',
    replay: false,
    message: `runtime ${op.kind}ed`,
    exitCode: stoppedExitCode,
  });
}

/**
 * The start's own image steps, in its order, before anything is stopped:
 * each refusal is the one the start would give (code and notification),
 * written in the outer row, with the game still running and its record as
 * it was.
 */
async function prepareBeforeStop(op: Operation): Promise<StepOutcome<PreparedImage>> {
  const refused = await checkImageRef(op);
  if (refused) return { ok: false, failure: refused };
  const network = await checkNetwork(op);
  if (!network.ok) return network;
  const pulled = await pullBeforeStop(op);
  if (!pulled.ok) return pulled;
  return inspectEngineImage(op, pulled.value);
}

/**
 * The image's own failure (a tag, a credential, a registry, the policy) is
 * final and announced, as a start's would be; a daemon that does not answer
 * is not the image's fault, and a retry may find it back, as the stop that
 * would have come next would have said.
 */
async function pullBeforeStop(op: Operation): Promise<StepOutcome<string | null>> {
  await step(op, 'pull_image');
  try {
    return { ok: true, value: await pullEngineImage(op) };
  } catch (error) {
    if (isImagePullFailed(error)) {
      return { ok: false, failure: { step: 'pull_image', code: 'image_pull_failed', message: errorMessage(error), notify: 'runtime.image_pull_failed' } };
    }
    return { ok: false, failure: { step: 'pull_image', code: 'service_unavailable', message: `pull_image: ${errorMessage(error)}` } };
  }
}
