import type { Config } from '../config.js';
import type { LifecycleSettings } from '../domain/lifecycle.js';

type Shared<T> = readonly (keyof T & keyof LifecycleSettings)[];

// The domain's settings carry these fields of `Config` under the same names; the compiler checks both sides.
const FROM_DOCKER = ['network', 'pullPolicy', 'pullFallbackToLocal', 'logDriver', 'logOpts', 'allowedRegistries'] as const satisfies Shared<Config['docker']>;
const FROM_CONTAINER = [
  'defaultCpuQuota',
  'defaultMemory',
  'defaultPidsLimit',
  'maxCpuQuota',
  'maxMemory',
  'maxPidsLimit',
  'engineStateMountPath',
  'engineStateEnvName',
  'enginePort',
  'stopTimeoutSeconds',
  'capDrop',
  'capAdd',
  'readOnlyRootfs',
  'tmpfsSizeBytes',
  'user',
  'extraLabels',
] as const satisfies Shared<Config['container']>;

function pick<T, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, from[key]])) as Pick<T, K>;
}

/**
 * The domain's settings, from configuration. The composition root and both
 * test worlds (in memory and real) build theirs here, so the defaults live
 * only in the variables' declarations.
 */
export function lifecycleSettings(config: Config): LifecycleSettings {
  return {
    ...pick(config.docker, FROM_DOCKER),
    ...pick(config.container, FROM_CONTAINER),
    leaseTtlMs: config.leaseTtlMs,
    startHealthTimeoutMs: config.engines.startHealthTimeoutMs,
    maxStopTimeoutSeconds: config.engines.maxStopTimeoutSeconds,
    crashRestart: config.engines.crashRestart,
  };
}
