import type { Config } from '../config.js';
import type { LifecycleSettings } from '../domain/lifecycle.js';

/**
 * The domain's settings, from configuration. The composition root and both
 * test worlds (in memory and real) build theirs here, so the defaults live
 * only in the config schema.
 */
export function lifecycleSettings(config: Config): LifecycleSettings {
  return {
    network: config.docker.network,
    pullPolicy: config.docker.pullPolicy,
    pullFallbackToLocal: config.docker.pullFallbackToLocal,
    logDriver: config.docker.logDriver,
    logOpts: config.docker.logOpts,
    defaultCpuQuota: config.container.defaultCpuQuota,
    defaultMemory: config.container.defaultMemory,
    defaultPidsLimit: config.container.defaultPidsLimit,
    maxCpuQuota: config.container.maxCpuQuota,
    maxMemory: config.container.maxMemory,
    maxPidsLimit: config.container.maxPidsLimit,
    allowedRegistries: config.docker.allowedRegistries,
    engineStateMountPath: config.container.engineStateMountPath,
    engineStateEnvName: config.container.engineStateEnvName,
    enginePort: config.container.enginePort,
    leaseTtlMs: config.leaseTtlMs,
    stopTimeoutSeconds: config.container.stopTimeoutSeconds,
    capDrop: config.container.capDrop,
    capAdd: config.container.capAdd,
    readOnlyRootfs: config.container.readOnlyRootfs,
    tmpfsSizeBytes: config.container.tmpfsSizeBytes,
    user: config.container.user,
    extraLabels: config.container.extraLabels,
  };
}
