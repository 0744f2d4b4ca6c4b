/**
 * A game's Swarm service as the Engine API (1.41) reads and writes it: the
 * fields of services, tasks and nodes the Swarm engine reads, the spec it
 * creates a game's service with, and what its tasks' states mean.
 */
import { unlimitedProblem } from '../../domain/container-spec.js';
import type { EffectiveLimits, RunSpec } from '../../domain/engine-port.js';

/** Task states after which a task never runs again. */
export const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
/** Before a node took it. */
export const UNPLACED = new Set(['new', 'pending']);
/** On its node, before its container starts: the node pulls the image here. */
export const PREPARING = new Set(['assigned', 'accepted', 'preparing', 'ready']);

export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; Timestamp?: string; Message?: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

export interface SwarmService {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
}

export interface ServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: { Image: string; Labels?: Record<string, string>; StopSignal?: string; StopGracePeriod?: number; [key: string]: unknown };
    Resources?: { Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }; Reservations?: { NanoCPUs?: number; MemoryBytes?: number } };
    [key: string]: unknown;
  };
  Mode?: { Replicated?: { Replicas?: number } };
  [key: string]: unknown;
}

export interface SwarmNode {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

/** How every game's service is shaped, beside its RunSpec. */
export interface ServiceShape {
  /** Reserve the CPU and memory limits, so Swarm places an engine only where they fit. */
  reserveLimits: boolean;
}

/** The service for `spec`, running `image` (the ref, pinned to a digest when the manager has one). */
export function serviceSpec(spec: RunSpec, image: string, shape: ServiceShape): ServiceSpec {
  // Swarm reads a zero limit as none (and leaves it out of the spec): such a spec never reaches it.
  const unlimited = unlimitedProblem(spec);
  if (unlimited) throw new Error(unlimited);
  const limits = { NanoCPUs: spec.nanoCpus, MemoryBytes: spec.memoryBytes, Pids: spec.pidsLimit };
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: containerSpec(spec, image),
      Resources: {
        Limits: limits,
        // Swarm places by reservations only: without them it would stack engines on a full node.
        Reservations: shape.reserveLimits ? { NanoCPUs: spec.nanoCpus, MemoryBytes: spec.memoryBytes } : {},
      },
      RestartPolicy: { Condition: 'none' },
      LogDriver: { Name: spec.logDriver, Options: spec.logOpts },
      Networks: [{ Target: spec.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    // One engine per game and one state directory: the old task stops before the new one starts.
    // A new task that fails (within a second of running) rolls the service back to the previous spec.
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback', Monitor: 1e9 },
    RollbackConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
    // The name resolves to the task's own address, not to a virtual IP: a VIP needs IPVS in every
    // node's kernel (this machine has none), and one replica has nothing to balance.
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

function containerSpec(spec: RunSpec, image: string): ServiceSpec['TaskTemplate']['ContainerSpec'] {
  return {
    Image: image,
    Hostname: spec.hostname,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    ...(spec.user === null ? {} : { User: spec.user }),
    // Typed mounts; a tmpfs mount is nosuid,nodev (and noexec) by Docker's own default.
    Mounts: [
      ...spec.bindMounts.map((m) => ({ Type: 'bind', Source: m.hostPath, Target: m.mountPath, ReadOnly: m.readOnly })),
      ...spec.scratchMounts.map((m) => ({ Type: 'tmpfs', Target: m.mountPath, TmpfsOptions: { SizeBytes: m.sizeBytes } })),
    ],
    ReadOnly: spec.readOnlyRootfs,
    CapabilityDrop: spec.capDrop,
    CapabilityAdd: spec.capAdd,
    Init: true,
    // Contract §15: the engine's own way to stop, fixed per service (a scale to zero stops it so).
    StopSignal: spec.stopSignal,
    StopGracePeriod: spec.stopTimeoutSeconds * 1e9,
  };
}

/** How the service's engine is stopped, as its spec says (null: created without). */
export function specStop(spec: ServiceSpec): { stopSignal: string | null; stopTimeoutSeconds: number | null } {
  const { StopSignal, StopGracePeriod } = spec.TaskTemplate.ContainerSpec;
  return { stopSignal: StopSignal || null, stopTimeoutSeconds: typeof StopGracePeriod === 'number' ? StopGracePeriod / 1e9 : null };
}

/**
 * The task that stands for the service: the one meant to run (the newest if
 * several, as during an update), else the newest of all.
 */
export function currentTask(tasks: SwarmTask[]): SwarmTask | null {
  const newest = [...tasks].sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
  return newest.find((t) => t.DesiredState === 'running') ?? newest[0] ?? null;
}

/** What the service asks for: all a remote container can be known by here. Swarm passes it to the container as it is. */
export function specLimits(spec: ServiceSpec): EffectiveLimits {
  const limits = spec.TaskTemplate.Resources?.Limits ?? {};
  return { cpuQuota: (limits.NanoCPUs ?? 0) / 1e9, memoryBytes: limits.MemoryBytes ?? 0, pidsLimit: limits.Pids ?? 0 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
