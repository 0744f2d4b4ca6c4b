import { dockerSizeBytes, parseDockerSize } from './docker-size.js';
import { parseKeyValues } from './key-values.js';
import type { LifecycleSettings } from './lifecycle.js';
import type { RunSpec } from './engine-port.js';
import type { StopPolicy } from './stop-policy.js';
import {
  ENGINE_STATE_BACK_COMPAT_ENV_NAME,
  IMAGE_LABEL_CPU_QUOTA,
  IMAGE_LABEL_MEMORY,
  IMAGE_LABEL_PIDS_LIMIT,
  LABEL_CRASH_RESTARTS,
  LABEL_ENGINE_IMAGE_REF,
  LABEL_GAME_ID,
  LABEL_KIND,
  LABEL_KIND_VALUE,
  LABEL_OWNER,
  LABEL_OWNER_VALUE,
  LABEL_STARTED_AT_MS,
  containerName,
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

/**
 * The least each limit may be (contract §14), measured on Docker 20.10 and a
 * one-node swarm: below them an engine runs with no limit at all, or not at
 * all. NanoCpus under 10^4 make a CFS quota of 0 µs, which Docker reads as
 * none (0 is none too), and under 10^7 a quota below the kernel's 1 ms, which
 * fails the start; Memory 0 is none, and under 6 MiB the daemon refuses it;
 * PidsLimit 0 or below is none.
 */
export const MIN_CPU_QUOTA = 0.01;
export const MIN_MEMORY = '6m';
export const MIN_MEMORY_BYTES = 6 * 1024 ** 2;
export const MIN_PIDS_LIMIT = 1;

// Signed, so that `-1` (Docker's "unlimited") parses and is refused rather than taken for a typo.
const CPU_LABEL = /^\s*[+-]?\d*\.?\d+(?:[eE][+-]?\d+)?\s*$/;
const PIDS_LABEL = /^\s*[+-]?\d+\s*$/;

interface Bounds {
  min: number;
  minText: string;
  max: number;
  maxText: string;
  maxVariable: string;
}

/**
 * Limits from the image's labels, each falling back to the configured default
 * when absent or unparseable (contract §8). Unlike the reference, a memory
 * label must parse as a Docker size: the reference passed any non-empty
 * string on and let the daemon fail the start. A label that parses but asks
 * for more than its ceiling, or less than its minimum, is refused, every such
 * label named: falling back would start an engine with other limits than it
 * declared, and passing it on would let `com.galaxy.memory=1p` or
 * `com.galaxy.cpu_quota=0.0000000001` lift the limit altogether. A default
 * below its minimum is refused too (boot refuses it first, config.ts).
 */
export function resolveLimits(labels: Record<string, string>, settings: LimitDefaults & LimitCeilings): LimitsResolution {
  const maxMemoryBytes = sizeOrThrow('maximum', settings.maxMemory);
  const refused: string[] = [];
  const within = (label: string, value: number, bounds: Bounds): boolean => {
    const problem =
      value < bounds.min
        ? `is below the minimum ${bounds.minText}`
        : value > bounds.max
          ? `is above the maximum ${bounds.maxText} (${bounds.maxVariable})`
          : null;
    if (problem) refused.push(`image label ${label}=${labels[label]} ${problem}`);
    return problem === null;
  };

  let cpuQuota = settings.defaultCpuQuota;
  let memory = settings.defaultMemory;
  let pidsLimit = settings.defaultPidsLimit;

  const cpuLabel = labels[IMAGE_LABEL_CPU_QUOTA];
  if (cpuLabel !== undefined && CPU_LABEL.test(cpuLabel)) {
    const value = Number(cpuLabel);
    const max = settings.maxCpuQuota;
    const bounds = { min: MIN_CPU_QUOTA, minText: String(MIN_CPU_QUOTA), max, maxText: String(max), maxVariable: 'RTMANAGER_CONTAINER_MAX_CPU_QUOTA' };
    if (within(IMAGE_LABEL_CPU_QUOTA, value, bounds)) cpuQuota = value;
  }
  const memoryLabel = labels[IMAGE_LABEL_MEMORY]?.trim();
  const memoryValue = memoryLabel ? signedSizeBytes(memoryLabel) : null;
  if (memoryLabel && memoryValue !== null) {
    const bounds = {
      min: MIN_MEMORY_BYTES,
      minText: MIN_MEMORY,
      max: maxMemoryBytes,
      maxText: settings.maxMemory,
      maxVariable: 'RTMANAGER_CONTAINER_MAX_MEMORY',
    };
    if (within(IMAGE_LABEL_MEMORY, memoryValue, bounds)) memory = memoryLabel;
  }
  const pidsLabel = labels[IMAGE_LABEL_PIDS_LIMIT];
  if (pidsLabel !== undefined && PIDS_LABEL.test(pidsLabel)) {
    const value = Number(pidsLabel);
    const max = settings.maxPidsLimit;
    const bounds = { min: MIN_PIDS_LIMIT, minText: String(MIN_PIDS_LIMIT), max, maxText: String(max), maxVariable: 'RTMANAGER_CONTAINER_MAX_PIDS_LIMIT' };
    if (within(IMAGE_LABEL_PIDS_LIMIT, value, bounds)) pidsLimit = value;
  }

  const memoryBytes = sizeOrThrow('default', memory);
  // A label taken is within its bounds: what is below a minimum here is a default.
  if (cpuQuota < MIN_CPU_QUOTA) refused.push(`RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA=${cpuQuota} is below the minimum ${MIN_CPU_QUOTA}`);
  if (memoryBytes < MIN_MEMORY_BYTES) refused.push(`RTMANAGER_CONTAINER_DEFAULT_MEMORY=${memory} is below the minimum ${MIN_MEMORY}`);
  if (pidsLimit < MIN_PIDS_LIMIT) refused.push(`RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT=${pidsLimit} is below the minimum ${MIN_PIDS_LIMIT}`);
  if (refused.length > 0) return { ok: false, problem: refused.join('; ') };

  return { ok: true, limits: { cpuQuota, nanoCpus: Math.round(cpuQuota * 1e9), memory, memoryBytes, pidsLimit } };
}

/**
 * The last word before the daemon, for the adapters: why `spec` would run
 * with no CPU, memory or pids limit (or be refused by the daemon for a limit
 * too small), or null. resolveLimits never lets such a spec through; a value
 * that slipped past it some other way must not reach Docker.
 */
export function unlimitedProblem(spec: Pick<RunSpec, 'nanoCpus' | 'memoryBytes' | 'pidsLimit'>): string | null {
  const problems: string[] = [];
  if (!(spec.nanoCpus >= MIN_CPU_QUOTA * 1e9)) problems.push(`NanoCpus ${spec.nanoCpus} is below ${MIN_CPU_QUOTA * 1e9}`);
  if (!(spec.memoryBytes >= MIN_MEMORY_BYTES)) problems.push(`Memory ${spec.memoryBytes} is below ${MIN_MEMORY_BYTES}`);
  if (!(spec.pidsLimit >= MIN_PIDS_LIMIT)) problems.push(`PidsLimit ${spec.pidsLimit} is below ${MIN_PIDS_LIMIT}`);
  return problems.length > 0 ? `refused to run an engine without limits: ${problems.join(', ')}` : null;
}

/** A memory label's bytes, negative when it says `-` before a size (Docker's sizes have no sign); null when it is no size. */
function signedSizeBytes(label: string): number | null {
  const negative = label.startsWith('-');
  const bytes = dockerSizeBytes(negative ? label.slice(1) : label);
  return bytes === null ? null : negative ? -bytes : bytes;
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

/** The engine container a start runs for `game`: named for the game, on the engines' network, its state directory mounted, within `limits`, stopped as `stop` says. */
export function engineRunSpec(
  settings: LifecycleSettings,
  game: { gameId: string; imageRef: string; startedAt: Date; crashRestarts?: number },
  statePath: string,
  limits: Pick<ContainerLimits, 'nanoCpus' | 'memoryBytes' | 'pidsLimit'>,
  stop: StopPolicy,
): RunSpec {
  const name = containerName(game.gameId);
  return {
    name,
    hostname: name,
    image: game.imageRef,
    network: settings.network,
    env: engineEnv(settings.engineStateMountPath, settings.engineStateEnvName),
    labels: {
      ...settings.extraLabels,
      ...engineLabels(game.gameId, game.imageRef, game.startedAt),
      ...(game.crashRestarts ? { [LABEL_CRASH_RESTARTS]: String(game.crashRestarts) } : {}),
    },
    bindMounts: [{ hostPath: statePath, mountPath: settings.engineStateMountPath, readOnly: false }],
    logDriver: settings.logDriver,
    logOpts: parseKeyValues(settings.logOpts),
    nanoCpus: limits.nanoCpus,
    memoryBytes: limits.memoryBytes,
    pidsLimit: limits.pidsLimit,
    ...engineHardening(settings),
    stopSignal: stop.signal,
    stopTimeoutSeconds: stop.timeoutSeconds,
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
