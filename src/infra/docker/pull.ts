import type Dockerode from 'dockerode';
import type { PullProgress } from '../../domain/ports.js';
import { daemonError } from './daemon-errors.js';

/**
 * Nomad's image_pull_timeout semantics: a deadline on the whole pull, and a
 * shorter one on silence (no progress event). Either aborts the request,
 * so the daemon stops downloading for us; the message says which fired.
 */
export function pullWithDeadlines(
  docker: Dockerode,
  ref: string,
  { pullMs, pullIdleMs }: { pullMs: number; pullIdleMs: number },
  onProgress?: (progress: PullProgress) => void,
): Promise<void> {
  const controller = new AbortController();
  return new Promise<void>((resolve, reject) => {
    let idle: ReturnType<typeof setTimeout> | undefined;
    const settle = (error?: Error) => {
      clearTimeout(whole);
      clearTimeout(idle);
      if (error) {
        controller.abort(error);
        reject(error);
      } else {
        resolve();
      }
    };
    const whole = setTimeout(() => settle(new Error(`image pull of ${ref} timed out after ${pullMs} ms (RTMANAGER_PULL_TIMEOUT_MS)`)), pullMs);
    const progressed = () => {
      clearTimeout(idle);
      idle = setTimeout(() => settle(new Error(`image pull of ${ref} made no progress for ${pullIdleMs} ms (RTMANAGER_PULL_INACTIVITY_MS)`)), pullIdleMs);
    };
    progressed();
    docker.pull(ref, { abortSignal: controller.signal }).then(
      (stream: NodeJS.ReadableStream) => {
        if (controller.signal.aborted) return;
        // The engine reports most pull failures inside the stream, not as an
        // HTTP status: an `error` event ends the pull.
        docker.modem.followProgress(
          stream,
          (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
            const failed = events.find((e) => e.error ?? e.errorDetail);
            if (error) settle(daemonError(error));
            else if (failed) settle(new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed'));
            else settle();
          },
          (event: { status?: string; id?: string; progressDetail?: { current?: number; total?: number } }) => {
            progressed();
            onProgress?.({
              status: event.status ?? '',
              ...(event.id ? { id: event.id } : {}),
              ...(event.progressDetail?.current !== undefined ? { current: event.progressDetail.current } : {}),
              ...(event.progressDetail?.total !== undefined ? { total: event.progressDetail.total } : {}),
            });
          },
        );
      },
      (error: unknown) => settle(daemonError(error)),
    );
  });
}
