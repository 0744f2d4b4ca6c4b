/**
 * Ports: what the domain needs from the world, named by role. Each has an
 * in-memory fake (test/fakes) and a real adapter (src/infra), held together by
 * one contract test suite (test/contracts).
 *
 * Adapters throw on infrastructure failure (daemon down, connection refused);
 * expected business answers (not found, network missing, lease held) are
 * return values, never exceptions.
 */
import type { HealthEvent, NotificationIntent, OperationEntry, OpKind, PullPolicy, RuntimeRecord, RuntimeStatus, StoredOperationEntry } from './model.js';

export interface RuntimeRecordPage {
  records: RuntimeRecord[];
  /** Opaque; null when there is no further page. */
  nextCursor: string | null;
}

export interface RuntimeRecordStore {
  get(gameId: string): Promise<RuntimeRecord | null>;
  /**
   * Writes the record carrying `fence`, the fencing number of the lease the
   * writer holds (stored as `lease_fence`). False, and nothing written, when
   * the stored row carries a higher fence: a newer operation owns the game.
   * An equal fence writes (one operation writes its row more than once).
   */
  upsert(record: RuntimeRecord, fence: number): Promise<boolean>;
  /**
   * The fence the game's record was last written with (`lease_fence`); 0 when
   * there is no record. Read after a write was refused, to raise the fence
   * counter past it (GameLeases.raiseFenceAbove).
   */
  leaseFence(gameId: string): Promise<number>;
  /** Ordered by game id; `cursor` is the previous page's `nextCursor`. */
  list(query: { status?: RuntimeStatus; limit: number; cursor?: string | null }): Promise<RuntimeRecordPage>;
}

export interface OperationLog {
  append(entry: OperationEntry): Promise<number>;
  /** Newest first. */
  listByGame(gameId: string, limit: number, opKind?: OpKind): Promise<StoredOperationEntry[]>;
  /**
   * Retention: deletes at most `limit` entries that finished strictly before
   * `before`, oldest first, and answers how many it deleted. Bounded so that
   * one call is one short statement; the caller loops until a call deletes
   * fewer than `limit`.
   */
  deleteOlderThan(before: Date, limit: number): Promise<number>;
}

export interface GameLeases {
  /**
   * Takes the game's lease when it is free (SET NX PX) and answers its
   * fencing number: strictly increasing per game across every holder, so a
   * write carrying it can be refused once a newer holder has written. Null
   * when the lease is held, by another token or by this same one: there is no
   * re-entrancy, every attempt of an operation presents a fresh token.
   * Fences never go back, even when the store behind them loses or rolls
   * back data (contract §14): the real adapter floors them at its clock.
   */
  tryAcquire(gameId: string, token: string, ttlMs: number): Promise<number | null>;
  /**
   * Makes every later acquisition's fence greater than `fence`; never lowers
   * anything. For a write refused by a record that carries a fence this port
   * never handed out as far as it knows — it went back in time — so the
   * game's next attempt gets past it instead of being refused again. True when
   * it had to raise (it was behind), false when its fences were above already
   * (the refusal came from a genuinely newer holder).
   */
  raiseFenceAbove(gameId: string, fence: number): Promise<boolean>;
  /** Extends the TTL while `token` still holds the lease; false when it does not (expired, released, taken by another). */
  renew(gameId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Compare-and-delete: releases only if `token` still holds it; true if released. */
  release(gameId: string, token: string): Promise<boolean>;
}

/** Publishes to `runtime:health_events` and upserts the `health_snapshots` row. */
export interface HealthEvents {
  publish(event: HealthEvent): Promise<void>;
}

/** Publishes admin-only intents to `notification:intents`. */
export interface Notifications {
  publish(intent: NotificationIntent): Promise<void>;
}

export interface Clock {
  now(): Date;
}

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
}

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
  /** null when no container has this name or id. */
  inspectContainer(nameOrId: string): Promise<ContainerInfo | null>;
  /** SIGTERM, then kill after `timeoutSeconds`. A container already stopped is fine. */
  stop(containerId: string, timeoutSeconds: number): Promise<void>;
  /** Force-remove; a container already gone is fine. */
  remove(containerId: string): Promise<void>;
  /** Containers (running or not) carrying the given labels. */
  listContainers(labels: Record<string, string>): Promise<ContainerInfo[]>;
}

/**
 * Creates `{root}/{game_id}` with mode and owner; returns the host path.
 * Throws when that path exists and is not a real directory (a symbolic link,
 * a file): it is bind-mounted read-write into the engine, so whatever a link
 * there points to would be handed over (and chowned) instead.
 */
export interface StateDirectories {
  prepare(gameId: string): Promise<string>;
}

/** Best-effort diagnostics from the Lobby service; never changes an outcome. */
export interface LobbyDiagnostics {
  getGame(gameId: string): Promise<{ status: string; targetEngineVersion?: string }>;
}

export interface Telemetry {
  recordStartOutcome(outcome: string, errorCode: string, opSource: string): void;
  recordLeaseAcquireLatency(seconds: number): void;
  recordDockerOp(op: string, seconds: number): void;
  recordHealthEvent(eventType: string): void;
  recordNotificationIntent(notificationType: string): void;
  /** `rtmanager_stream_duplicates_total` (contract §14): a stream entry acknowledged without a new operation. Counted by the intake. */
  recordStreamDuplicate(): void;
}

/** pino-compatible: structured fields first, message second. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child(fields: Record<string, unknown>): Logger;
}
