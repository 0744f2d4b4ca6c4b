/**
 * `restart` and `patch`: a stop and a start under ONE lease, so no other
 * operation can slip between them. The hostname, engine endpoint and state
 * directory stay the same; patch moves the game onto a new, validated image.
 * The inner start writes its own `start` audit row, as the reference's Run
 * does; the outer operation writes the `restart` / `patch` row.
 */
import { imageRefProblem } from './image-ref.js';
import type { LifecycleDeps, LifecycleHooks, LifecycleRequest, LifecycleResult } from './lifecycle.js';
import type { Operation } from './operation.js';
import { beginOperation, step, underLease, withImage } from './operation.js';
import { recordFailure, recordSuccess } from './outcomes.js';
import { runStartUnderHeldLease } from './start.js';
import { requestProblem, stopUnderHeldLease } from './stop.js';

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
  const stopped = await stopUnderHeldLease(given);
  if (!stopped.ok) return stopped.result;

  const imageRef = newImageRef ?? stopped.record?.currentImageRef ?? null;
  if (!imageRef) {
    return recordFailure(stopped.op, {
      step: 'load_record',
      code: 'start_config_invalid',
      message: `game ${JSON.stringify(given.gameId)} has no runtime to ${given.kind}`,
    });
  }
  const op = withImage(stopped.op, imageRef);

  await step(op, 'start');
  const started = await runStartUnderHeldLease(op, imageRef);
  if (started.outcome === 'failure') {
    // A retryable conflict (the lease lost under the inner start) stays retryable.
    return recordFailure(op, { step: 'start', code: started.errorCode, message: started.errorMessage, leaseBusy: started.retryable });
  }
  op.imageDigest = started.record?.currentImageDigest ?? null;
  await step(op, 'publish_success');
  return recordSuccess(op, { record: started.record, containerId: started.record?.currentContainerId ?? '', replay: false, message: `runtime ${op.kind}ed` });
}
