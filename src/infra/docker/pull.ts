import type Dockerode from 'dockerode';
import type { PullFailureReason } from '../../domain/image-pull.js';
import { ImagePullFailed, isImagePullFailed, pullFailure } from '../../domain/image-pull.js';
import { messageOf, statusOf } from './daemon-errors.js';
import type { PullEvent } from './pull-progress.js';
import type { RegistryAuth } from './registry-auth.js';

/**
 * Nomad's image_pull_timeout semantics: a deadline on the whole pull, and a
 * shorter one on silence (no progress event). Either aborts the request,
 * so the daemon stops downloading for us; the message says which fired.
 * Every failure is an ImagePullFailed saying why (pullFailureOf).
 */
export function pullWithDeadlines(
  docker: Dockerode,
  ref: string,
  { pullMs, pullIdleMs }: { pullMs: number; pullIdleMs: number },
  { auth, onEvent }: { auth?: RegistryAuth | undefined; onEvent?: (event: PullEvent) => void } = {},
): Promise<void> {
  const controller = new AbortController();
  return new Promise<void>((resolve, reject) => {
    let idle: ReturnType<typeof setTimeout> | undefined;
    const settle = (error?: unknown) => {
      clearTimeout(whole);
      clearTimeout(idle);
      if (error) {
        controller.abort(error);
        reject(pullFailureOf(error, ref));
      } else {
        resolve();
      }
    };
    const deadline = (message: string) => settle(new ImagePullFailed('timeout', message));
    const whole = setTimeout(() => deadline(`image pull of ${ref} timed out after ${pullMs} ms (RTMANAGER_PULL_TIMEOUT_MS)`), pullMs);
    const progressed = () => {
      clearTimeout(idle);
      idle = setTimeout(() => deadline(`image pull of ${ref} made no progress for ${pullIdleMs} ms (RTMANAGER_PULL_INACTIVITY_MS)`), pullIdleMs);
    };
    progressed();
    // The credentials travel in the X-Registry-Auth header only: docker-modem keeps `authconfig` out of the query string.
    docker.pull(ref, { abortSignal: controller.signal, ...(auth ? { authconfig: auth } : {}) }).then(
      (stream: NodeJS.ReadableStream) => {
        if (controller.signal.aborted) return;
        // The engine reports some pull failures inside the stream, not as an
        // HTTP status: an `error` event ends the pull.
        docker.modem.followProgress(
          stream,
          (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
            const failed = events.find((e) => e.error ?? e.errorDetail);
            if (error) settle(error);
            else if (failed) settle(new DaemonSaid(failed.errorDetail?.message ?? failed.error ?? 'pull failed'));
            else settle();
          },
          (event: PullEvent) => {
            progressed();
            onEvent?.(event);
          },
        );
      },
      (error: unknown) => settle(error),
    );
  });
}

/** A failure the daemon reported in the pull's stream (its HTTP answer was 200). */
class DaemonSaid extends Error {}

/**
 * What the daemon (20.10, registry 2.8) says, by cause:
 * - no credentials: `Head "http://…/manifests/v1": no basic auth credentials`
 * - wrong ones: `unauthorized: authentication required`, `… incorrect username or password`
 * - Docker Hub, no such repository or no access: `pull access denied for x, repository does not exist or may require 'docker login'`
 * - no such tag: HTTP 404, `manifest for … not found: manifest unknown: manifest unknown`
 * - refused / no such host: `Get "http://…/v2/": dial tcp …: connect: connection refused`, `… no such host`
 * - a 5xx: `received unexpected HTTP status: 503 Service Unavailable`
 * - silence: `net/http: request canceled (Client.Timeout exceeded while awaiting headers)`
 * dockerode wraps each in `(HTTP code 500) server error - …`, which goes.
 */
const CAUSES: Array<[PullFailureReason, RegExp]> = [
  ['auth', /no basic auth credentials|unauthorized|authentication required|incorrect username or password|401 Unauthorized/i],
  ['denied', /pull access denied|requested access to the resource is denied|403 Forbidden/i],
  ['timeout', /Client\.Timeout exceeded|i\/o timeout|context deadline exceeded|TLS handshake timeout|timed out/i],
  [
    'unreachable',
    /connection refused|no such host|network is unreachable|no route to host|connection reset|server misbehaving|unexpected HTTP status: 5\d\d|\b50[0-9] (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)|\bEOF\b/i,
  ],
  ['not_found', /manifest unknown|name unknown|not found|does not exist/i],
];

export function pullFailureOf(error: unknown, ref: string): ImagePullFailed {
  if (isImagePullFailed(error)) return error;
  const status = statusOf(error);
  const detail = messageOf(error)
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .trim();
  // Only the daemon speaks for the registry: a socket error on the way to the daemon says nothing about it.
  const fromDaemon = status !== undefined || error instanceof DaemonSaid;
  const reason = fromDaemon ? (CAUSES.find(([, pattern]) => pattern.test(detail))?.[0] ?? (status === 404 ? 'not_found' : 'other')) : 'other';
  return pullFailure(reason, ref, detail);
}
