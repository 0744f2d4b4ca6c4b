/**
 * The engine port: what the domain asks of Docker (one engine, or a Swarm
 * cluster through its manager), and the shapes it speaks in. Its fake is in
 * test/fakes, its adapters in src/infra/docker (one per backend, chosen by
 * openRuntimeBackend), held together by test/contracts/docker-engine. Like
 * every port (ports.ts), it throws on infrastructure failure and answers
 * business outcomes (not found, network missing) as values.
 */
import type { PullPolicy, RuntimeHealth } from './model.js';
import type { EngineLogs, EngineStats, LogQuery } from './engine-window.js';
// The window's shapes travel with the port that answers them.
export type { EngineLogs, EngineStats, LogLine, LogQuery, LogSink, LogsEnd, LogStreamName } from './engine-window.js';

/**
 * A pull so far, over all its layers. Layers and their sizes become known as
 * the registry reveals them, so the totals may grow; bytes count downloads
 * only (a layer already local counts as a layer done, with no bytes), and
 * stay 0 when the registry does not say a size.
 */
export interface PullProgress {
  layersDone: number;
  layersTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/**
 * What a pull did: `pulled` from the registry; `present`, the local copy was
 * enough for the policy; `local_fallback`, under `always` the registry could
 * not be reached and the local copy stands in (`reason` says what failed).
 * Every other end is a throw (ImagePullFailed, image-pull.ts).
 */
export type PullOutcome = { kind: 'pulled' } | { kind: 'present' } | { kind: 'local_fallback'; reason: string };

export interface PullOptions {
  /** Under `always`: an unreachable registry (not a refusal) falls back to the local copy, if there is one. */
  fallbackToLocal?: boolean;
  /** Called as the pull goes; a caller that joins a pull already under way hears it from where it is. */
  onProgress?: (progress: PullProgress) => void;
}

export interface BindMount {
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
}

/** An in-memory filesystem (tmpfs) the engine may write, mounted `nosuid,nodev` and capped at `sizeBytes`. */
export interface ScratchMount {
  mountPath: string;
  sizeBytes: number;
}

/**
 * What the engine runs, and what it may do. Beyond these fields every engine
 * container always gets (contract §12): no new privileges (setuid binaries
 * gain nothing), no swap beyond `memoryBytes`, an init process as PID 1 that
 * reaps and forwards signals, and the bind mounts as typed mounts (a `:` in
 * a host path is just a character).
 */
export interface RunSpec {
  name: string;
  hostname: string;
  image: string;
  network: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  bindMounts: BindMount[];
  logDriver: string;
  logOpts: Record<string, string>;
  /** Docker's NanoCpus: CPUs × 1e9. */
  nanoCpus: number;
  memoryBytes: number;
  pidsLimit: number;
  /** Capabilities taken from Docker's default set (`ALL`: every one), then those given back. */
  capDrop: string[];
  capAdd: string[];
  /** The image's own files cannot be written: the engine writes its state directory and its scratch mounts. */
  readOnlyRootfs: boolean;
  scratchMounts: ScratchMount[];
  /** `uid:gid` the engine runs as; null: the image's own user. */
  user: string | null;
  /**
   * Contract §15: the signal any stop of this container sends (through the
   * init process, to the engine), and the seconds it waits before the kill.
   * The container's own, set at its creation: Docker 20.10 (API 1.41) stops
   * with no signal of the caller's, and a Swarm service stops as its spec says.
   */
  stopSignal: string;
  stopTimeoutSeconds: number;
}

/** What Docker applied to a container (its inspect's HostConfig), not what was asked. */
export interface EffectiveLimits {
  /** NanoCpus / 1e9. */
  cpuQuota: number;
  memoryBytes: number;
  pidsLimit: number;
}

/**
 * The machine an engine runs on: on one engine, null (there is only the one);
 * on a cluster, the node its scheduler placed it on.
 */
export interface RuntimeNode {
  id: string;
  hostname: string;
}

export interface RunResult {
  containerId: string;
  node: RuntimeNode | null;
  /** From the container's inspect (State.StartedAt). */
  startedAt: Date;
  /** From the same inspect, after the start. */
  effective: EffectiveLimits;
}

export interface ImageInfo {
  /** The local image id, `sha256:…`. */
  id: string;
  /** Docker's RepoDigests: `repository@sha256:…` for each repository the image was pulled from or pushed to. */
  repoDigests: string[];
  labels: Record<string, string>;
  /** The image declares a `HEALTHCHECK` (Config.Healthcheck with a test other than `NONE`): a start waits for it (contract §15). */
  healthcheck: boolean;
  /** The image's `STOPSIGNAL` (Config.StopSignal), null when it sets none. */
  stopSignal: string | null;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  /** The image the container runs, `sha256:…`. */
  imageId: string;
  labels: Record<string, string>;
  /** Docker's State.Status: created, running, exited, dead, paused, restarting, removing. */
  state: string;
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** From an inspect; null for a running container in a listing, which does not carry them. */
  effective: EffectiveLimits | null;
  /** Where it runs (RunResult.node). */
  node: RuntimeNode | null;
  /**
   * Its node no longer answers the cluster: whatever it was doing, nobody can
   * reach it or say what became of it (never on one engine, which is either
   * there or not asked at all). Not running.
   */
  unreachable: boolean;
  /**
   * Docker's verdict on its `HEALTHCHECK` (State.Health.Status; a listing's
   * status line says it too); `none` without one. On a cluster, a task on
   * another node is `healthy` while it runs (Swarm runs a task with a
   * HEALTHCHECK only once healthy, and ends it when unhealthy).
   */
  health: RuntimeHealth;
  /** How it is stopped (RunSpec.stopSignal, stopTimeoutSeconds): null when it was created without (or a listing does not say). */
  stopSignal: string | null;
  stopTimeoutSeconds: number | null;
}

/**
 * How a wait for an engine's health ended (DockerEngine.awaitHealth):
 * `none`, the container has no HEALTHCHECK (nothing to wait for); `gone`, it
 * stopped running, or is no more, before a verdict.
 */
export type HealthVerdict = 'healthy' | 'unhealthy' | 'timeout' | 'gone' | 'none';

/**
 * What an engine declares it can do beyond the calls every engine answers,
 * fixed for its life; the domain reads it to choose a path. (Not Linux
 * capabilities: those are capabilities.ts.)
 */
export interface EngineCapabilities {
  /**
   * `replace` puts a new engine in the place of a running one (a cluster's
   * rolling update, rolled back on failure). Without it a recreate is a stop
   * and a start.
   */
  readonly replaceInPlace: boolean;
}

export interface DockerEngine {
  /** Declared, not probed: the contract suite checks that each engine does what it declares. */
  readonly capabilities: EngineCapabilities;
  /** True when the daemon answers. Throws nothing. */
  ping(): Promise<boolean>;
  /** false when the network does not exist; throws when the daemon fails. */
  networkExists(name: string): Promise<boolean>;
  /**
   * Makes the image local per policy. Concurrent pulls of one ref share one
   * download. Throws ImagePullFailed (its message says why, then the
   * daemon's words), or DockerDeadlineExceeded when the daemon does not
   * answer the look at the local copy.
   */
  pullImage(ref: string, policy: PullPolicy, options?: PullOptions): Promise<PullOutcome>;
  /** A local image by ref or id; throws when it is not local. */
  inspectImage(ref: string): Promise<ImageInfo>;
  /** Creates and starts the container (as RunSpec says, and hardened as it says always); on a start failure the created container is removed. */
  run(spec: RunSpec): Promise<RunResult>;
  /**
   * When `capabilities.replaceInPlace`: puts an engine as `spec` says in the
   * place of the running `containerId` (the same name), answering once the
   * new one runs. A cluster does it as a rolling update of the game's
   * service: on failure it rolls the previous engine back and throws. An
   * engine that does not declare it (one engine) throws and touches nothing.
   */
  replace(containerId: string, spec: RunSpec): Promise<RunResult>;
  /**
   * Until the running container's HEALTHCHECK gives its first verdict since
   * the container started (Docker's `health_status` events), at most
   * `timeoutMs`. Throws only when the daemon fails.
   */
  awaitHealth(containerId: string, timeoutMs: number): Promise<HealthVerdict>;
  /** null when no container has this name or id. */
  inspectContainer(nameOrId: string): Promise<ContainerInfo | null>;
  /**
   * One reading of the container's use; null when it does not run (or there
   * is no such container). Throws when the daemon fails, or when no daemon
   * this engine speaks to can read it (a cluster's container on a node other
   * than the manager's).
   */
  stats(containerId: string): Promise<EngineStats | null>;
  /**
   * The container's stop signal, then the kill after `timeoutSeconds` (pass
   * the container's own, ContainerInfo.stopTimeoutSeconds: a cluster can only
   * wait as long as the service says). A container already stopped is fine.
   */
  stop(containerId: string, timeoutSeconds: number): Promise<void>;
  /** Force-remove; a container already gone is fine. */
  remove(containerId: string): Promise<void>;
  /** Containers (running or not) carrying the given labels. */
  listContainers(labels: Record<string, string>): Promise<ContainerInfo[]>;
  /**
   * Contract §16: the container's output (on a cluster, its task's) as the
   * query says, opened once the daemon answers; null when no container has
   * this id. The read ends when `signal` fires, and the daemon's connection
   * with it. Throws when the daemon fails (DockerDeadlineExceeded when it
   * does not answer).
   */
  openLogs(containerId: string, query: LogQuery, signal: AbortSignal): Promise<EngineLogs | null>;
}
