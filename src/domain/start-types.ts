import type { OpSource, PullPolicy } from './model.js';
import type {
  Clock,
  DockerEngine,
  GameLeases,
  HealthEvents,
  LobbyDiagnostics,
  Logger,
  Notifications,
  OperationLog,
  PullProgress,
  RuntimeRecordStore,
  StateDirectories,
  Telemetry,
} from './ports.js';

export interface StartInput {
  gameId: string;
  imageRef: string;
  opSource: OpSource;
  /** Opaque per-source reference: stream entry id, job id + attempt, request id. */
  sourceRef: string;
  /**
   * The lease token: a job passes one that is the same for all its attempts,
   * so a re-run after a crash holds the lease its dead attempt took.
   * Absent: a fresh random token.
   */
  leaseToken?: string;
}

/** Per-call hooks from the entry point (the job turns pull progress into job progress). */
export interface StartHooks {
  onPullProgress?: (progress: PullProgress) => void;
  /** Test-only: lets the crash-consistency test kill the worker at a named step. */
  onStep?: (step: string) => void | Promise<void>;
}

/** Every lifecycle ends in one of these; a start's success always carries its record. */
export type { LifecycleResult as StartResult } from './operation.js';

export interface StartSettings {
  network: string;
  pullPolicy: PullPolicy;
  logDriver: string;
  /** Raw `k=v,k2=v2`. */
  logOpts: string;
  defaultCpuQuota: number;
  /** Docker size string, e.g. `512m`. */
  defaultMemory: string;
  defaultPidsLimit: number;
  engineStateMountPath: string;
  engineStateEnvName: string;
  enginePort: number;
  leaseTtlMs: number;
  /** SIGTERM grace before the engine kills a stopping container. */
  stopTimeoutSeconds: number;
  /** Labels added to every engine container (tests mark theirs for sweeping); ours win on a clash. */
  extraLabels?: Record<string, string>;
}

export interface StartDeps {
  records: RuntimeRecordStore;
  operations: OperationLog;
  docker: DockerEngine;
  leases: GameLeases;
  healthEvents: HealthEvents;
  notifications: Notifications;
  stateDirs: StateDirectories;
  /** Optional: without it there is no lobby diagnostic. */
  lobby?: LobbyDiagnostics;
  telemetry: Telemetry;
  logger: Logger;
  clock: Clock;
  newToken: () => string;
  settings: StartSettings;
}
