import { parseDockerSize } from './docker-size.js';
import type { LifecycleSettings } from './lifecycle.js';
import type { RunSpec } from './ports.js';
import {
  ENGINE_STATE_BACK_COMPAT_ENV_NAME,
  IMAGE_LABEL_CPU_QUOTA,
  IMAGE_LABEL_MEMORY,
  IMAGE_LABEL_PIDS_LIMIT,
  LABEL_ENGINE_IMAGE_REF,
  LABEL_GAME_ID,
  LABEL_KIND,
  LABEL_KIND_VALUE,
  LABEL_OWNER,
  LABEL_OWNER_VALUE,
  LABEL_STARTED_AT_MS,
} from './model.js';

export interface ContainerLimits {
  cpuQuota: number;
  nanoCpus: number;
  memory: string;
  memoryBytes: number;
  pidsLimit: number;
}

export interface LimitDefaults {
  defaultCpuQuota: number;
  defaultMemory: string;
  defaultPidsLimit: number;
}

/**
 * Limits from the image's labels, each falling back to the configured default
 * when absent or unparseable (contract §8). Unlike the reference, a memory
 * label must parse as a Docker size: the reference passed any non-empty
 * string on and let the daemon fail the start.
 */
export function resolveLimits(labels: Record<string, string>, defaults: LimitDefaults): ContainerLimits {
  let cpuQuota = defaults.defaultCpuQuota;
  let memory = defaults.defaultMemory;
  let pidsLimit = defaults.defaultPidsLimit;

  const cpuLabel = labels[IMAGE_LABEL_CPU_QUOTA];
  if (cpuLabel !== undefined && /^\s*\d*\.?\d+(?:[eE][+-]?\d+)?\s*$/.test(cpuLabel)) {
    const value = Number(cpuLabel);
    if (Number.isFinite(value) && value > 0) cpuQuota = value;
  }
  const memoryLabel = labels[IMAGE_LABEL_MEMORY];
  if (memoryLabel !== undefined && memoryLabel.trim() !== '') {
    const bytes = parseDockerSize(memoryLabel.trim());
    if (bytes !== null && bytes > 0) memory = memoryLabel.trim();
  }
  const pidsLabel = labels[IMAGE_LABEL_PIDS_LIMIT];
  if (pidsLabel !== undefined && /^\s*\+?\d+\s*$/.test(pidsLabel)) {
    const value = Number(pidsLabel);
    if (Number.isSafeInteger(value) && value > 0) pidsLimit = value;
  }

  const memoryBytes = parseDockerSize(memory);
  if (memoryBytes === null) throw new Error(`default memory ${JSON.stringify(memory)} is not a Docker size`);
  return { cpuQuota, nanoCpus: Math.round(cpuQuota * 1e9), memory, memoryBytes, pidsLimit };
}

/** Where a read-only engine may still write scratch files. */
const SCRATCH_PATH = '/tmp';

/**
 * Contract §12: what the engine may do. The tmpfs exists for the read-only
 * root's sake (an engine that writes /tmp must still be able to); with a
 * writable root the image's own /tmp stays.
 */
export function engineHardening(
  settings: Pick<LifecycleSettings, 'capDrop' | 'capAdd' | 'readOnlyRootfs' | 'tmpfsSizeBytes' | 'user'>,
): Pick<RunSpec, 'capDrop' | 'capAdd' | 'readOnlyRootfs' | 'scratchMounts' | 'user'> {
  return {
    capDrop: [...settings.capDrop],
    capAdd: [...settings.capAdd],
    readOnlyRootfs: settings.readOnlyRootfs,
    scratchMounts: settings.readOnlyRootfs ? [{ mountPath: SCRATCH_PATH, sizeBytes: settings.tmpfsSizeBytes }] : [],
    user: settings.user,
  };
}

export function engineEnv(mountPath: string, primaryName: string): Record<string, string> {
  return { [primaryName]: mountPath, [ENGINE_STATE_BACK_COMPAT_ENV_NAME]: mountPath };
}

export function engineLabels(gameId: string, imageRef: string, startedAt: Date): Record<string, string> {
  return {
    [LABEL_OWNER]: LABEL_OWNER_VALUE,
    [LABEL_KIND]: LABEL_KIND_VALUE,
    [LABEL_GAME_ID]: gameId,
    [LABEL_ENGINE_IMAGE_REF]: imageRef,
    [LABEL_STARTED_AT_MS]: String(startedAt.getTime()),
  };
}

/** Ours, for this game: the only containers the manager may adopt or replace. */
export function isOwnedBy(labels: Record<string, string>, gameId: string): boolean {
  return labels[LABEL_OWNER] === LABEL_OWNER_VALUE && labels[LABEL_GAME_ID] === gameId;
}
