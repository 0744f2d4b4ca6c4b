/**
 * `restart` and `patch`: a pull, a stop and a start under ONE lease, so no
 * other operation can slip between them. The hostname, engine endpoint and state
 * directory stay the same; patch moves the game onto a new, validated image.
 * The inner start writes its own `start` audit row, as the reference's Run
 * does; the outer operation writes the `restart` / `patch` row.
 */
import { imageRefProblem } from './image-ref.js';
import type { LifecycleDeps, LifecycleHooks, LifecycleRequest, LifecycleResult } from './lifecycle.js';
import { errorMessage } from './errors.js';
import { isImagePullFailed } from './image-pull.js';
import type { Operation, StepOutcome } from './operation.js';
import { beginOperation, step, underLease, withImage } from './operation.js';
import { recordFailure, recordSuccess } from './outcomes.js';
import type { PulledImage } from './start.js';
import { pullEngineImage, runStartUnderHeldLease } from './start.js';
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
  // The allowed registries are checked here too: a patch must not stop a game for an image its start would refuse.
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
  // part of a recreate and must not be downtime, and an image that cannot be
  // had (a missing tag, a refused credential) must not cost the game its
  // running engine. A game with no image to recreate goes on to the stop,
  // which clears what a crash may have left, and then fails below.
  let pulled: PulledImage | undefined;
  if (imageRef) {
    const pullOp = withImage(given, imageRef);
    const made = await pullBeforeStop(pullOp);
    if (!made.ok) return recordFailure(pullOp, made.failure);
    pulled = { note: made.value };
  }

  // A patch on an engine that can replace in place (a cluster's rolling
  // update) does not stop first: on failure the previous engine comes back.
  const inPlace = given.kind === 'patch' && given.deps.docker.replace && record?.status === 'running' ? record.currentContainerId : null;
  if (imageRef && inPlace) return startAndFinish(withImage(given, imageRef), imageRef, pulled, inPlace);

  const stopped = await stopLoadedUnderHeldLease(given, record);
  if (!stopped.ok) return stopped.result;
  if (!imageRef) {
    return recordFailure(stopped.op, {
      step: 'load_record',
      code: 'start_config_invalid',
      message: `game ${JSON.stringify(given.gameId)} has no runtime to ${given.kind}`,
    });
  }
  return startAndFinish(withImage(stopped.op, imageRef), imageRef, pulled);
}

/** The start under the held lease (replacing `replacing` in place, if given), and the outer operation's outcome. */
async function startAndFinish(op: Operation, imageRef: string, pulled: PulledImage | undefined, replacing?: string): Promise<LifecycleResult> {
  await step(op, 'start');
  const started = await runStartUnderHeldLease(op, imageRef, pulled, replacing);
  if (started.outcome === 'failure') {
    // A retryable conflict (the lease lost under the inner start) stays retryable.
    return recordFailure(op, { step: 'start', code: started.errorCode, message: started.errorMessage, leaseBusy: started.retryable });
  }
  op.imageDigest = started.record?.currentImageDigest ?? null;
  await step(op, 'publish_success');
  return recordSuccess(op, { record: started.record, containerId: started.record?.currentContainerId ?? '', replay: false, message: `runtime ${op.kind}ed` });
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
