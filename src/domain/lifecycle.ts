/**
 * What every lifecycle (start, stop, restart, patch, reconcile) is given and
 * what it ends in: its dependencies, settings and hooks, the names of its
 * steps, and the Result. Types only, so the lifecycle files and the
 * operation machinery (operation.ts, operation-lease.ts) can share them without a cycle.
 */
import type { FailureCode, LeaseConflict } from './errors.js';
import type { NotificationType, OpSource, PullPolicy, RuntimeRecord } from './model.js';
import type {
  Clock,
  CrashRestarts,
  GameLeases,
  HealthEvents,
  LobbyDiagnostics,
  Logger,
  Notifications,
  OperationLog,
  RuntimeRecordStore,
  StateDirectories,
  Telemetry,
} from './ports.js';
import type { DockerEngine, PullProgress } from './engine-port.js';

/**
 * Every step name any lifecycle uses: it travels into logs (`step`), the
 * audit message of an unexpected throw, and test hooks. A glossary, so in
 * alphabetical order: each lifecycle lists its own steps in the order it
 * takes them (START_STEPS in start.ts, STOP_STEPS in stop.ts).
 */
export const STEP_NAMES = [
  'acquire_lease',
  'await_healthy',
  'await_turn',
  'check_network',
  'converge_container',
  'count_restarts',
  'enqueue',
  'find_container',
  'inspect_image',
  'judge_crash',
  'load_record',
  'lobby_diagnostic',
  'observe',
  'prepare_state_dir',
  'publish_success',
  'pull_image',
  'remove_container',
  'run_container',
  'start',
  'stop_container',
  'upsert_record',
  'validate_image_ref',
  'validate_input',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Every lifecycle ends in one of these; a start's success always carries its record. */
export type LifecycleResult =
  | { outcome: 'success'; errorCode: null | 'replay_no_op'; errorMessage: ''; record: RuntimeRecord | null; retryable: false }
  | { outcome: 'failure'; errorCode: FailureCode; errorMessage: string; record: null; retryable: boolean; lease?: LeaseConflict };

/** A failed step, before it becomes a Result (audit row, notification, counters). */
export interface Failure {
  step: StepName;
  code: FailureCode;
  message: string;
  containerId?: string;
  notify?: NotificationType;
  /** A conflict about the game's lease (retryable), not about the request. */
  lease?: LeaseConflict;
}

/** What an entry point knows about the request, shared by every lifecycle's input. */
export interface LifecycleRequest {
  gameId: string;
  opSource: OpSource;
  /** Opaque per-source reference: stream entry id, job id + attempt, request id. */
  sourceRef: string;
}

/** Per-call hooks from the entry point (the job turns pull progress into job progress). */
export interface LifecycleHooks {
  onPullProgress?: (progress: PullProgress) => void;
  /** Test-only: lets the crash-consistency test kill the worker at a named step. */
  onStep?: (step: StepName) => void | Promise<void>;
  /** Aborted when the job running the operation lost its lock (another worker may run it): stop at the next step. */
  signal?: AbortSignal;
  /**
   * The caller waits and asks again when the game is busy (the jobs layer
   * does): a busy lease then ends in its Result without an audit row or a
   * counted outcome, which would otherwise be written at every look. It
   * first tries the lease again for a moment (LEASE_PATIENCE_MS).
   */
  waitsWhenBusy?: boolean;
}

export interface LifecycleSettings {
  network: string;
  pullPolicy: PullPolicy;
  /** Under `always`, an unreachable registry lets a start go on with the local copy (RTMANAGER_PULL_FALLBACK_TO_LOCAL). */
  pullFallbackToLocal: boolean;
  logDriver: string;
  /** Raw `k=v,k2=v2`. */
  logOpts: string;
  defaultCpuQuota: number;
  /** Docker size string, e.g. `512m`. */
  defaultMemory: string;
  defaultPidsLimit: number;
  /** Ceilings of what an image's labels may ask for. */
  maxCpuQuota: number;
  /** Docker size string, e.g. `8g`. */
  maxMemory: string;
  maxPidsLimit: number;
  /** Registry hosts images may come from (`docker.io` for Docker Hub); empty: any. */
  allowedRegistries: readonly string[];
  engineStateMountPath: string;
  engineStateEnvName: string;
  enginePort: number;
  leaseTtlMs: number;
  /** Seconds a stopping engine is given before the kill, unless its image says (com.galaxy.stop_timeout). */
  stopTimeoutSeconds: number;
  /** Contract §15: how long a start waits for an image's HEALTHCHECK to say `healthy` (RTMANAGER_START_HEALTH_TIMEOUT_MS). */
  startHealthTimeoutMs: number;
  /** The most an image's com.galaxy.stop_timeout may ask (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS). */
  maxStopTimeoutSeconds: number;
  /** Contract §15 (RTMANAGER_CRASH_RESTART_*): restarts of a crashed engine within `windowMs` (0: never), the first after `backoffMs`, doubling. */
  crashRestart: { max: number; windowMs: number; backoffMs: number };
  /** Contract §12: capabilities dropped, then added back (`ALL` drops every one). */
  capDrop: string[];
  capAdd: string[];
  /** A read-only image filesystem, with a size-capped tmpfs on /tmp for scratch. */
  readOnlyRootfs: boolean;
  tmpfsSizeBytes: number;
  /** `uid:gid` engines run as; null: the image's own user. */
  user: string | null;
  /** Labels added to every engine container (tests mark theirs for sweeping); ours win on a clash. */
  extraLabels?: Record<string, string>;
}

export interface LifecycleDeps {
  records: RuntimeRecordStore;
  operations: OperationLog;
  docker: DockerEngine;
  leases: GameLeases;
  healthEvents: HealthEvents;
  notifications: Notifications;
  crashRestarts: CrashRestarts;
  stateDirs: StateDirectories;
  /** Optional: without it there is no lobby diagnostic. */
  lobby?: LobbyDiagnostics;
  telemetry: Telemetry;
  logger: Logger;
  clock: Clock;
  newToken: () => string;
  settings: LifecycleSettings;
}
