import { dockerSizeBytes, parseDockerSize } from './docker-size.js';
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

/** The most an image may ask for (RTMANAGER_CONTAINER_MAX_*); the defaults are within them (checked at boot). */
export interface LimitCeilings {
  maxCpuQuota: number;
  /** Docker size string, e.g. `8g`. */
  maxMemory: string;
  maxPidsLimit: number;
}

export type LimitsResolution = { ok: true; limits: ContainerLimits } | { ok: false; problem: string };

const CPU_LABEL = /^\s*\d*\.?\d+(?:[eE][+-]?\d+)?\s*$/;
const PIDS_LABEL = /^\s*\+?\d+\s*$/;

/**
 * Limits from the image's labels, each falling back to the configured default
 * when absent or unparseable (contract §8). Unlike the reference, a memory
 * label must parse as a Docker size: the reference passed any non-empty
 * string on and let the daemon fail the start. A label that parses but asks
 * for more than its ceiling is refused, every such label named: falling back
 * would start an engine with less than it declared it needs, and passing it
 * on would let `com.galaxy.memory=1p` lift the limit altogether.
 */
export function resolveLimits(labels: Record<string, string>, settings: LimitDefaults & LimitCeilings): LimitsResolution {
  const maxMemoryBytes = sizeOrThrow('maximum', settings.maxMemory);
  const above: string[] = [];
  const ceiling = (label: string, value: number, max: number, maxText: string, variable: string): boolean => {
    if (value <= max) return true;
    above.push(`image label ${label}=${labels[label]} is above the maximum ${maxText} (${variable})`);
    return false;
  };

  let cpuQuota = settings.defaultCpuQuota;
  let memory = settings.defaultMemory;
  let pidsLimit = settings.defaultPidsLimit;

  const cpuLabel = labels[IMAGE_LABEL_CPU_QUOTA];
  if (cpuLabel !== undefined && CPU_LABEL.test(cpuLabel)) {
    const value = Number(cpuLabel);
    if (value > 0 && ceiling(IMAGE_LABEL_CPU_QUOTA, value, settings.maxCpuQuota, String(settings.maxCpuQuota), 'RTMANAGER_CONTAINER_MAX_CPU_QUOTA')) {
      cpuQuota = value;
    }
  }
  const memoryLabel = labels[IMAGE_LABEL_MEMORY]?.trim();
  if (memoryLabel) {
    const bytes = dockerSizeBytes(memoryLabel);
    if (bytes !== null && bytes > 0 && ceiling(IMAGE_LABEL_MEMORY, bytes, maxMemoryBytes, settings.maxMemory, 'RTMANAGER_CONTAINER_MAX_MEMORY')) {
      memory = memoryLabel;
    }
  }
  const pidsLabel = labels[IMAGE_LABEL_PIDS_LIMIT];
  if (pidsLabel !== undefined && PIDS_LABEL.test(pidsLabel)) {
    const value = Number(pidsLabel);
    if (value > 0 && ceiling(IMAGE_LABEL_PIDS_LIMIT, value, settings.maxPidsLimit, String(settings.maxPidsLimit), 'RTMANAGER_CONTAINER_MAX_PIDS_LIMIT')) {
      pidsLimit = value;
    }
  }
  if (above.length > 0) return { ok: false, problem: above.join('; ') };

  const memoryBytes = sizeOrThrow('default', memory);
  return { ok: true, limits: { cpuQuota, nanoCpus: Math.round(cpuQuota * 1e9), memory, memoryBytes, pidsLimit } };
}

function sizeOrThrow(what: string, size: string): number {
  const bytes = parseDockerSize(size);
  if (bytes === null) throw new Error(`${what} memory ${JSON.stringify(size)} is not a Docker size`);
  return bytes;
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
