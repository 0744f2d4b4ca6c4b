/**
 * Contract §15: engines, not only containers — how long a start waits for an
 * image's HEALTHCHECK, the ceiling on an image's own stop timeout, and the
 * crash policy (restarts of an engine that exits non-zero, is OOM-killed or
 * stays unhealthy).
 */
import { withDefault } from './declare.js';
import { int } from './parsers.js';

export const ENGINES = {
  /** 100 ms – 1 h; an image with a `HEALTHCHECK`: a start succeeds only once the engine is `healthy`; `unhealthy`, or no verdict within this, is `container_start_failed` */
  startHealthTimeoutMs: withDefault('RTMANAGER_START_HEALTH_TIMEOUT_MS', int(100, 3_600_000), '60000', 'contract15'),
  /** 1–3600; the most an image's `com.galaxy.stop_timeout` may ask (above: `start_config_invalid`); `RTMANAGER_STOP_TIMEOUT_SECONDS` may not be above it */
  maxStopTimeoutSeconds: withDefault('RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS', int(1, 3_600), '300', 'contract15'),
  // The crash policy (src/domain/crash-policy.ts); off by default, as Docker's own restart policy `no` is.
  crashRestart: {
    /** 0–1000; restarts the manager makes of a crashed engine (exit non-zero, OOM kill, turned `unhealthy`) within the window, then `container_crash_loop`; `0`: never */
    max: withDefault('RTMANAGER_CRASH_RESTART_MAX', int(0, 1_000), '0', 'contract15'),
    /** 1 s – 7 days; the window the restarts are counted in */
    windowMs: withDefault('RTMANAGER_CRASH_RESTART_WINDOW_MS', int(1_000, 604_800_000), '600000', 'contract15'),
    /** 0 – 1 h; the wait before the first restart of a window, doubling before each next one */
    backoffMs: withDefault('RTMANAGER_CRASH_RESTART_BACKOFF_MS', int(0, 3_600_000), '1000', 'contract15'),
  },
};
