/**
 * Why a pull failed, in a sentence an operator acts on, with the daemon's
 * own words after it. The DockerEngine adapter and its fake both throw
 * ImagePullFailed, so the wording lives in one place; the start turns it
 * into `image_pull_failed` (contract §11).
 *
 * - **auth**: the registry refused the credentials, or wanted some and got none.
 * - **denied**: the registry refused the pull without saying whether the
 *   repository is missing or the credentials do not reach it (Docker Hub's
 *   "pull access denied").
 * - **not_found**: no such repository, tag or digest in the registry.
 * - **unreachable**: the registry did not answer (connection refused, no such
 *   host, a 5xx).
 * - **timeout**: the registry, or the pull as a whole, took too long.
 * - **policy**: the image is not local and the pull policy `never` forbids pulling it.
 * - **other**: anything else the daemon said.
 */
import { registryOfRef } from './image-ref.js';

export const PULL_FAILURE_REASONS = ['auth', 'denied', 'not_found', 'unreachable', 'timeout', 'policy', 'other'] as const;
export type PullFailureReason = (typeof PULL_FAILURE_REASONS)[number];

const PULL_FAILED = 'image_pull_failed';

export class ImagePullFailed extends Error {
  readonly code = PULL_FAILED;

  constructor(
    readonly reason: PullFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ImagePullFailed';
  }
}

/** The failure in the operator's words, naming the registry the ref names (`docker.io` for Docker Hub); `detail` is what the daemon said. */
export function pullFailure(reason: PullFailureReason, ref: string, detail = ''): ImagePullFailed {
  return new ImagePullFailed(reason, describe(reason, ref, registryOfRef(ref) || 'unknown') + (detail.trim() === '' ? '' : `: ${detail.trim()}`));
}

/**
 * Contract §11: under `always`, a registry that cannot be reached lets a start
 * go on with the local copy. A refusal (credentials, a missing tag) never does:
 * the registry answered, and the answer was no.
 */
export function registryUnreachable(reason: PullFailureReason): boolean {
  return reason === 'unreachable' || reason === 'timeout';
}

export function isImagePullFailed(error: unknown): error is ImagePullFailed {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === PULL_FAILED;
}

function describe(reason: PullFailureReason, ref: string, registry: string): string {
  switch (reason) {
    case 'auth':
      return `authentication failed at registry ${registry} for ${ref}: check its entry in the Docker config.json (RTMANAGER_DOCKER_CONFIG)`;
    case 'denied':
      return `registry ${registry} denied access to ${ref}: the repository does not exist or the credentials do not reach it`;
    case 'not_found':
      return `image ${ref} was not found in registry ${registry} (no such repository, tag or digest)`;
    case 'unreachable':
      return `registry ${registry} could not be reached to pull ${ref}`;
    case 'timeout':
      return `registry ${registry} timed out while pulling ${ref}`;
    case 'policy':
      return `image ${ref} is not present locally and the pull policy "never" (RTMANAGER_DOCKER_PULL_POLICY) forbids pulling it`;
    case 'other':
      return `image pull of ${ref} failed`;
  }
}
