/**
 * How operations run: leases and their waits, the streams, the jobs and
 * their queue, the periodic jobs, logging and shutdown.
 */
import { int, keyPrefix, ms, nonEmpty, oneOf, url } from './parsers.js';
import { optional, withDefault } from './declare.js';

export const LEASES = {
  /** 1 s – 1 h; the holder renews it every third of the TTL (contract §10) */
  leaseTtlMs: withDefault('RTMANAGER_GAME_LEASE_TTL_MS', int(1_000, 3_600_000), '60000', 'contract2'),
  /** how long an operation waits for a busy game (or its turn in the game's order) before it fails for good with `conflict` */
  leaseWaitMs: withDefault('RTMANAGER_LEASE_WAIT_MS', ms, '600000', 'contract10'),
  // A second at least (tests shorten it); a year at most: per-game keys live this long after a game's last operation.
  /**
   * 1 s – 1 year; how long a stream entry's id and its `request_id` are remembered per game (a re-delivered or re-sent entry is acknowledged without a
   * new operation), and how long a game's Redis keys (fence, order, deferrals, joins, dedup marks) outlive its last operation
   */
  streamDedupWindowMs: withDefault('RTMANAGER_STREAM_DEDUP_WINDOW_MS', int(1_000, 31_536_000_000), '86400000', 'contract14'),
  /**
   * `http(s)` URL; see [decisions.md](decisions.md#decisions-where-the-contract-and-the-reference-are-silent)
   * @default unset: no lobby diagnostic
   */
  lobbyBaseUrl: optional('RTMANAGER_LOBBY_BASE_URL', url(['http:', 'https:']), 'contract2'),
};

export const STREAMS = {
  /** stream the intake consumes */
  startJobs: withDefault('RTMANAGER_START_JOBS_STREAM', nonEmpty, 'runtime:start_jobs', 'contract2'),
  /** stream of health events */
  healthEvents: withDefault('RTMANAGER_HEALTH_EVENTS_STREAM', nonEmpty, 'runtime:health_events', 'contract2'),
  /** stream of notification intents */
  notificationIntents: withDefault('RTMANAGER_NOTIFICATION_INTENTS_STREAM', nonEmpty, 'notification:intents', 'contract2'),
};

/** 1 s – 1 day; period of the reconciler's job scheduler */
export const RECONCILE_INTERVAL = withDefault('RTMANAGER_RECONCILE_INTERVAL_MS', int(1_000, 86_400_000), '30000', 'contract2');

export const OPERATION_LOG = {
  // A day at least: the audit of today's incident is never pruned under it. A century at most.
  /** 1–36500; `operation_log` rows whose `finished_at` is older are deleted. At least a day, so the audit of today's incident is never pruned */
  retentionDays: withDefault('RTMANAGER_OPERATION_LOG_RETENTION_DAYS', int(1, 36_500), '90', 'contract13'),
  /** 1 s – 1 day; period of the operation log retention job; its first run fires when the scheduler is first registered */
  retentionIntervalMs: withDefault('RTMANAGER_OPERATION_LOG_RETENTION_INTERVAL_MS', int(1_000, 86_400_000), '3600000', 'ours'),
};

/** pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent` */
export const LOG_LEVEL = withDefault(
  'RTMANAGER_LOG_LEVEL',
  oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'must be a pino level (fatal, error, warn, info, debug, trace, silent)'),
  'info',
  'contract2',
);

export const JOBS = {
  /** 1–100; attempts of a job with a retryable failure */
  attempts: withDefault('RTMANAGER_JOB_ATTEMPTS', int(1, 100), '5', 'ours'),
  /** 10 ms – 10 min; first exponential backoff delay */
  backoffMs: withDefault('RTMANAGER_JOB_BACKOFF_MS', int(10, 600_000), '1000', 'ours'),
  /** 1–1000; jobs a worker runs at once */
  concurrency: withDefault('RTMANAGER_WORKER_CONCURRENCY', int(1, 1_000), '20', 'ours'),
  /** 1 s – 10 min; BullMQ lock of a running job; stalls are checked every half of it, so a dead worker's job runs again within ≈ 1.5× this */
  lockMs: withDefault('RTMANAGER_JOB_LOCK_MS', int(1_000, 600_000), '10000', 'ours'),
  /**
   * 1–1000; times a job may lose its worker (stall) and run again before it fails for good; BullMQ's default of 1 would lose accepted starts when
   * workers die in quick succession
   */
  maxStalls: withDefault('RTMANAGER_JOB_MAX_STALLS', int(1, 1_000), '20', 'ours'),
};

export const PROCESS = {
  intake: {
    /** 100 ms – 1 h; idle time after which a dead consumer's stream entries are claimed */
    claimIdleMs: withDefault('RTMANAGER_INTAKE_CLAIM_IDLE_MS', int(100, 3_600_000), '30000', 'ours'),
  },
  /** 0 – 10 min; how long SIGTERM waits for active jobs */
  shutdownGraceMs: withDefault('RTMANAGER_SHUTDOWN_GRACE_MS', int(0, 600_000), '25000', 'ours'),
  /** BullMQ key prefix (letters, digits, `-`, `_`) */
  queuePrefix: withDefault('RTMANAGER_QUEUE_PREFIX', keyPrefix, 'bull', 'ours'),
};
