/**
 * Glossary of the Runtime Manager domain.
 *
 * - **game**: one multiplayer match on the platform, named by its game id.
 * - **engine image**: the Docker image that runs a game's engine; named by an
 *   image ref (`registry/repo:tag@sha256:…`). Its labels may carry resource
 *   limits (`com.galaxy.cpu_quota`, `com.galaxy.memory`, `com.galaxy.pids_limit`).
 * - **runtime**: the one container that runs a game's engine, named and
 *   hostnamed `galaxy-game-{game_id}`.
 * - **runtime record**: the durable row (Postgres) that says what the manager
 *   believes about a game's runtime; the source of truth for replays and
 *   conflicts.
 * - **node**: the machine a runtime runs on, when the engine is a cluster's
 *   (its scheduler picks it); on one engine there is none to name.
 * - **lease**: a short-lived per-game lock in Redis so that only one lifecycle
 *   operation touches a game at a time; released only by its holder.
 * - **operation**: one attempt of a lifecycle (start, stop, restart, patch,
 *   reconcile); each attempt appends one row to the operation log (audit).
 * - **op source**: where an operation came from (stream, REST, admin, reconciler).
 * - **health event**: a fact about a container (started, exited, OOM,
 *   disappeared, adopted) published to a Redis stream and kept as a snapshot.
 * - **notification intent**: an admin-facing failure notice, published to a
 *   Redis stream for the Notification Service to deliver (deduplicated by key).
 * - **step**: a named stage of a lifecycle pipeline; the name travels into logs
 *   and metrics.
 */

/** The op sources a request may name: what the intake and the API accept. */
export const OP_SOURCES = ['lobby_stream', 'gm_rest', 'admin_rest', 'reconciler'] as const;
export type RequestOpSource = (typeof OP_SOURCES)[number];
/** Contract §15: the source the manager gives the operations it decides on its own (a crash restart); no request may claim it. */
export const MANAGER_OP_SOURCE = 'crash_policy';
export type OpSource = RequestOpSource | typeof MANAGER_OP_SOURCE;
/** A request's op source (the intake's and the API's check). */
export function isRequestOpSource(value: unknown): value is RequestOpSource {
  return typeof value === 'string' && (OP_SOURCES as readonly string[]).includes(value);
}
/** Any op source an operation may carry: a request's, or the manager's own. */
export function isOpSource(value: unknown): value is OpSource {
  return isRequestOpSource(value) || value === MANAGER_OP_SOURCE;
}

export const OP_KINDS = ['start', 'stop', 'restart', 'patch', 'reconcile_adopt', 'reconcile_dispose', 'reconcile_observe'] as const;
export type OpKind = (typeof OP_KINDS)[number];

export const RUNTIME_STATUSES = ['running', 'stopped', 'exited', 'removed'] as const;
export type RuntimeStatus = (typeof RUNTIME_STATUSES)[number];

export type Outcome = 'success' | 'failure';

/**
 * What Docker's `HEALTHCHECK` says of the engine (contract §15): `none` for an
 * image without one (and on records written before it was followed).
 */
export const RUNTIME_HEALTHS = ['healthy', 'unhealthy', 'starting', 'none'] as const;
export type RuntimeHealth = (typeof RUNTIME_HEALTHS)[number];

export interface RuntimeRecord {
  gameId: string;
  status: RuntimeStatus;
  currentContainerId: string | null;
  currentImageRef: string | null;
  engineEndpoint: string | null;
  statePath: string | null;
  dockerNetwork: string | null;
  startedAt: Date | null;
  stoppedAt: Date | null;
  lastOpAt: Date;
  createdAt: Date;
  /**
   * `sha256:…`: the repo digest the image was pulled by, else the local image
   * id. Kept when the game stops (the image it last ran); null on records
   * written before it was recorded.
   */
  currentImageDigest: string | null;
  /**
   * What the container really got, read back from Docker after it started
   * (HostConfig NanoCpus / 1e9, Memory, PidsLimit). Null while no container
   * runs (stopped) and on records written before they were recorded.
   */
  effectiveCpuQuota: number | null;
  effectiveMemoryBytes: number | null;
  effectivePidsLimit: number | null;
  /**
   * The node the engine runs on (its scheduler's id and the node's hostname)
   * when the engine is a cluster's: null on one engine, where there is only
   * the one, and while nothing runs (stopped). Kept when the container exits
   * or disappears, with the effective limits: where it last ran.
   */
  nodeId: string | null;
  nodeHostname: string | null;
  /** The engine's health as last seen (contract §15). */
  health: RuntimeHealth;
  /** Crash restarts made in the current crash-restart window (contract §15); 0 when none. */
  restartCount: number;
  /** The exit code of the engine's last exit, null while it never exited (or before it was recorded). */
  lastExitCode: number | null;
}

/**
 * Contract §15: an engine's end the crash policy answers — an exit with a
 * code other than 0, an OOM kill, or a HEALTHCHECK turned `unhealthy` — of
 * one container (the one the record named when it was seen).
 */
export interface EngineCrash {
  containerId: string;
  reason: 'exit' | 'oom' | 'unhealthy';
  /** null: still running (unhealthy), or a backend that no longer knows. */
  exitCode: number | null;
  oomKilled: boolean;
}

/** One row of the audit log: one attempt of one operation. */
export interface OperationEntry {
  gameId: string;
  opKind: OpKind;
  opSource: OpSource;
  sourceRef: string;
  imageRef: string;
  /** The image's digest (see RuntimeRecord) once the operation knew it; null before. */
  imageDigest: string | null;
  containerId: string;
  outcome: Outcome;
  errorCode: string;
  errorMessage: string;
  startedAt: Date;
  finishedAt: Date;
  /** The engine's exit code when the operation ended it (a stop's), else null (contract §15). */
  exitCode: number | null;
}

export interface StoredOperationEntry extends OperationEntry {
  id: number;
}

export const HEALTH_EVENT_TYPES = [
  'container_started',
  'container_exited',
  'container_oom',
  'container_disappeared',
  'container_adopted',
  'container_unhealthy',
  'container_healthy',
  'container_restarted',
  'container_crash_loop',
] as const;
export type HealthEventType = (typeof HEALTH_EVENT_TYPES)[number];

export interface HealthEvent {
  gameId: string;
  containerId: string;
  eventType: HealthEventType;
  occurredAt: Date;
  details: Record<string, unknown>;
}

export const NOTIFICATION_TYPES = [
  'runtime.image_pull_failed',
  'runtime.container_start_failed',
  'runtime.start_config_invalid',
  'runtime.container_crash_loop',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export interface NotificationIntent {
  notificationType: NotificationType;
  idempotencyKey: string;
  audience: 'admin';
  occurredAt: Date;
  payload: {
    game_id: string;
    image_ref: string;
    error_code: string;
    error_message: string;
    attempted_at_ms: number;
  };
}

export type PullPolicy = 'always' | 'if_not_present' | 'never';

/** Container labels fixed by contract §8. */
export const LABEL_OWNER = 'com.galaxy.owner';
export const LABEL_OWNER_VALUE = 'rtmanager';
export const LABEL_KIND = 'com.galaxy.kind';
export const LABEL_KIND_VALUE = 'game-engine';
export const LABEL_GAME_ID = 'com.galaxy.game_id';
export const LABEL_ENGINE_IMAGE_REF = 'com.galaxy.engine_image_ref';
export const LABEL_STARTED_AT_MS = 'com.galaxy.started_at_ms';
/**
 * Contract §15: on an engine a crash restart started, the record's
 * restart_count it carries — so a reconciler that adopts it (its restart's
 * worker died before the record was written) keeps the count.
 */
export const LABEL_CRASH_RESTARTS = 'com.galaxy.crash_restarts';

/** The restart_count an engine's labels carry: 0 for one no crash restart started. */
export function crashRestartsOf(labels: Record<string, string>): number {
  const count = Number(labels[LABEL_CRASH_RESTARTS]);
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}
export const IMAGE_LABEL_CPU_QUOTA = 'com.galaxy.cpu_quota';
export const IMAGE_LABEL_MEMORY = 'com.galaxy.memory';
export const IMAGE_LABEL_PIDS_LIMIT = 'com.galaxy.pids_limit';
/** Contract §15: the signal a stop sends, and the seconds it waits before the kill. */
export const IMAGE_LABEL_STOP_SIGNAL = 'com.galaxy.stop_signal';
export const IMAGE_LABEL_STOP_TIMEOUT = 'com.galaxy.stop_timeout';

export const HOSTNAME_PREFIX = 'galaxy-game-';
/** v1 engines read the state directory from this name as well as the configured one. */
export const ENGINE_STATE_BACK_COMPAT_ENV_NAME = 'STORAGE_PATH';

export function containerName(gameId: string): string {
  return `${HOSTNAME_PREFIX}${gameId}`;
}

export function engineEndpoint(gameId: string, enginePort: number): string {
  return `http://${containerName(gameId)}:${enginePort}`;
}
