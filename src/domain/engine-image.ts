/**
 * The engine image a start will run, checked before anything depends on it:
 * its ref (grammar, allowed registries), the network it will join, the image
 * made local per the pull policy, inspected, and its limit and stop labels
 * resolved (contract §8, §11, §14, §15). A start runs these steps itself; a restart or a
 * patch runs them before it stops the running engine (contract §14: a
 * refusal leaves the game running) and hands what it found to the start
 * under the same lease as a PreparedImage, so the image is neither pulled
 * nor inspected twice.
 */
import type { ContainerLimits } from './container-spec.js';
import { resolveLimits } from './container-spec.js';
import { imageRefProblem, pulledDigest } from './image-ref.js';
import type { Failure } from './lifecycle.js';
import type { Operation, StepOutcome } from './operation.js';
import { runStep, step } from './operation.js';
import type { StopPolicy } from './stop-policy.js';
import { resolveStopPolicy } from './stop-policy.js';

/** An image made local, inspected and judged: what the start runs it with. */
export interface PreparedImage {
  /** The note its pull left (the local copy stood in for an unreachable registry), or null. */
  note: string | null;
  /** What the record and the audit row call the image (pulledDigest). */
  digest: string;
  limits: ContainerLimits;
  /** It declares a HEALTHCHECK: the start waits for `healthy` (contract §15). */
  healthcheck: boolean;
  /** How its engine is stopped: set on the container at its creation. */
  stop: StopPolicy;
}

/** `validate_image_ref`: the grammar, and the allowed registries, before any pull. */
export async function checkImageRef(op: Operation): Promise<Failure | null> {
  await step(op, 'validate_image_ref');
  const problem = imageRefProblem(op.imageRef, op.deps.settings.allowedRegistries);
  if (!problem) return null;
  return { step: 'validate_image_ref', code: 'start_config_invalid', message: problem, notify: 'runtime.start_config_invalid' };
}

/** `check_network`: the network engines join must exist (contract §2). */
export async function checkNetwork(op: Operation): Promise<StepOutcome<void>> {
  const { network } = op.deps.settings;
  const exists = await runStep(op, 'check_network', () => op.deps.docker.networkExists(network), {
    code: 'service_unavailable',
    context: 'ensure docker network',
  });
  if (!exists.ok) return exists;
  if (exists.value) return { ok: true, value: undefined };
  return {
    ok: false,
    failure: {
      step: 'check_network',
      code: 'start_config_invalid',
      message: `docker network ${JSON.stringify(network)} is missing`,
      notify: 'runtime.start_config_invalid',
    },
  };
}

/**
 * The image, local per the pull policy. Null, or the note the success
 * carries into its audit row: the registry could not be reached under
 * `always`, and the local copy stands in (contract §11).
 */
export async function pullEngineImage(op: Operation): Promise<string | null> {
  const { settings } = op.deps;
  const outcome = await op.deps.docker.pullImage(op.imageRef, settings.pullPolicy, {
    fallbackToLocal: settings.pullFallbackToLocal,
    ...(op.hooks.onPullProgress ? { onProgress: op.hooks.onPullProgress } : {}),
  });
  if (outcome.kind !== 'local_fallback') return null;
  op.log.warn({ step: 'pull_image', image_ref: op.imageRef, err: outcome.reason }, 'registry unreachable; starting on the local copy of the image');
  return `started on the local copy of the image: ${outcome.reason} (RTMANAGER_PULL_FALLBACK_TO_LOCAL)`;
}

/**
 * `inspect_image`: the local image's digest (set on `op`, so a refusal's
 * audit row names the image refused), and the limits and the stop its labels
 * ask for, within the configured bounds: every label refused is named.
 */
export async function inspectEngineImage(op: Operation, pullNote: string | null): Promise<StepOutcome<PreparedImage>> {
  const image = await runStep(op, 'inspect_image', () => op.deps.docker.inspectImage(op.imageRef), {
    code: 'image_pull_failed',
    context: 'inspect image',
    notify: 'runtime.image_pull_failed',
  });
  if (!image.ok) return image;
  op.imageDigest = pulledDigest(op.imageRef, image.value);
  const resolved = resolveLimits(image.value.labels, op.deps.settings);
  const stop = resolveStopPolicy(image.value.labels, image.value.stopSignal, op.deps.settings);
  if (!resolved.ok || !stop.ok) {
    const message = [resolved, stop].flatMap((r) => (r.ok ? [] : [r.problem])).join('; ');
    return { ok: false, failure: { step: 'inspect_image', code: 'start_config_invalid', message, notify: 'runtime.start_config_invalid' } };
  }
  return { ok: true, value: { note: pullNote, digest: op.imageDigest, limits: resolved.limits, healthcheck: image.value.healthcheck, stop: stop.stop } };
}
