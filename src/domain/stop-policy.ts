/**
 * How an engine is stopped (contract §15): the signal a stop sends and the
 * seconds it is given before the kill, from the image's labels
 * `com.galaxy.stop_signal` and `com.galaxy.stop_timeout`, falling back to the
 * image's own `STOPSIGNAL` (else SIGTERM) and RTMANAGER_STOP_TIMEOUT_SECONDS.
 * Both are set on the container at its creation (Docker 20.10's stop takes
 * no signal, and a Swarm service's grace period is part of its spec), so the
 * engine gets them whoever stops it: a stop, a restart, the daemon itself.
 */
import { IMAGE_LABEL_STOP_SIGNAL, IMAGE_LABEL_STOP_TIMEOUT } from './model.js';

export interface StopPolicy {
  /** A signal name as Docker takes it, e.g. `SIGINT`. */
  signal: string;
  timeoutSeconds: number;
}

export interface StopSettings {
  /** RTMANAGER_STOP_TIMEOUT_SECONDS: the timeout of an image that names none. */
  stopTimeoutSeconds: number;
  /** RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS: the most a label may ask. */
  maxStopTimeoutSeconds: number;
}

export type StopPolicyResolution = { ok: true; stop: StopPolicy } | { ok: false; problem: string };

/**
 * The signals a label may name: those a server is told to wind down with.
 * Not SIGKILL (no wind-down at all: that is what the timeout ends in) nor
 * SIGSTOP / SIGTSTP (the engine would freeze until the kill).
 */
export const STOP_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGPWR'] as const;

const DEFAULT_SIGNAL = 'SIGTERM';
const SECONDS = /^\s*[+-]?\d+\s*$/;

/**
 * The stop policy an image declares. A label that is present but wrong (a
 * signal off the list, a timeout that is no whole number, is negative — to
 * Docker, wait forever — or is above its ceiling) is refused, each one named:
 * falling back would stop an engine otherwise than its image declared, and
 * it would find out by losing its state. An empty label is absent. The
 * image's own STOPSIGNAL is taken as Docker took it at build.
 */
export function resolveStopPolicy(labels: Record<string, string>, imageStopSignal: string | null, settings: StopSettings): StopPolicyResolution {
  const refused: string[] = [];
  let signal = imageStopSignal?.trim() || DEFAULT_SIGNAL;
  let timeoutSeconds = settings.stopTimeoutSeconds;

  const signalLabel = labels[IMAGE_LABEL_STOP_SIGNAL]?.trim();
  if (signalLabel) {
    const named = stopSignalOf(signalLabel);
    if (named) signal = named;
    else refused.push(`image label ${IMAGE_LABEL_STOP_SIGNAL}=${signalLabel} is not one of ${STOP_SIGNALS.join(', ')}`);
  }

  const timeoutLabel = labels[IMAGE_LABEL_STOP_TIMEOUT]?.trim();
  if (timeoutLabel) {
    const value = SECONDS.test(timeoutLabel) ? Number(timeoutLabel) : null;
    const max = settings.maxStopTimeoutSeconds;
    const problem =
      value === null
        ? 'is not a whole number of seconds'
        : value < 0
          ? 'is below the minimum 0'
          : value > max
            ? `is above the maximum ${max} (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)`
            : null;
    if (problem) refused.push(`image label ${IMAGE_LABEL_STOP_TIMEOUT}=${timeoutLabel} ${problem}`);
    else timeoutSeconds = value!;
  }

  if (refused.length > 0) return { ok: false, problem: refused.join('; ') };
  return { ok: true, stop: { signal, timeoutSeconds } };
}

/** `int`, `SIGint`, ` INT ` → `SIGINT`; null when it names no signal of STOP_SIGNALS. */
function stopSignalOf(name: string): string | null {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return (STOP_SIGNALS as readonly string[]).includes(full) ? full : null;
}
