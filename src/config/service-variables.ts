/**
 * The service's own variables: where its stores are, its HTTP side, and who
 * may call it (the credentials' cross-checks are in `rules.ts`).
 */
import path from 'node:path';
import { mapped, optional, withDefault } from './declare.js';
import { bool, int, nonEmpty, text, url } from './parsers.js';

/**
 * `postgres:` / `postgresql:` URL (libpq-style socket URLs work). PGlite is single-process: roles run as separate processes need Postgres
 * @default unset: the embedded PGlite database in `RTMANAGER_PGLITE_DIR`
 */
export const DATABASE_URL = optional('RTMANAGER_DATABASE_URL', url(['postgres:', 'postgresql:']), 'contract2');

export const PGLITE_DIR = mapped(
  /** data directory of the embedded database */
  withDefault('RTMANAGER_PGLITE_DIR', nonEmpty, 'var/pglite', 'ours'),
  (dir) => path.resolve(dir),
);

export const STORES = {
  /** `redis:` or `rediss:` URL of the Redis holding the queues, leases, order and streams */
  redisUrl: withDefault('RTMANAGER_REDIS_URL', url(['redis:', 'rediss:']), 'redis://127.0.0.1:6379', 'contract2'),
  /** Undefined: the embedded PGlite database in `pgliteDir`. */
  databaseUrl: DATABASE_URL,
  pgliteDir: PGLITE_DIR,
  // At least 100 ms: below that a healthy query on a busy server would fail. No 0: nothing waits forever.
  /**
   * 100 ms – 1 day; a database call (a statement, a wait for a lock, or no answer at all) longer than this fails: in an operation a retryable
   * `service_unavailable` (lease released), in an HTTP read a 503. Postgres sessions carry it as `statement_timeout` and `lock_timeout`; the client
   * gives up one second later. PGlite: the client-side bound only. Migrations at boot are not bounded by it
   */
  dbStatementTimeoutMs: withDefault('RTMANAGER_DB_STATEMENT_TIMEOUT_MS', int(100, 86_400_000), '10000', 'contract14'),
};

export const HTTP = {
  /** address of the web port and of the worker's and intake's ops ports */
  host: withDefault('RTMANAGER_HTTP_HOST', nonEmpty, '127.0.0.1', 'contract2'),
  /** 1–65535 */
  port: withDefault('RTMANAGER_HTTP_PORT', int(1, 65535), '8090', 'contract2'),
  /** request body limit, 1024 – 16 MiB; above it 413 `payload_too_large` */
  bodyLimitBytes: withDefault('RTMANAGER_HTTP_BODY_LIMIT_BYTES', int(1024, 16 * 1024 * 1024), '65536', 'ours'),
  opsPorts: {
    /** 1–65535; the worker's `/healthz`, `/readyz`, `/metrics` (not opened in `all` mode); a port taken stops boot */
    worker: withDefault('RTMANAGER_WORKER_OPS_PORT', int(1, 65535), '8091', 'contract13'),
    /** 1–65535; the same for the intake */
    intake: withDefault('RTMANAGER_INTAKE_OPS_PORT', int(1, 65535), '8092', 'contract13'),
  },
  /** requests of one web process that may hold `?wait` at once, 1–1000000; beyond, 503 `service_unavailable` before anything is enqueued */
  maxWaiters: withDefault('RTMANAGER_HTTP_MAX_WAITERS', int(1, 1_000_000), '1000', 'service'),
};

const orEmpty = (value: string | undefined): string => value ?? '';

export const AUTH = {
  /**
   * contract §2 mentions it; `true` turns off both auths, and is refused at boot unless `RTMANAGER_HTTP_HOST` is a loopback address (127.0.0.0/8, `::1`,
   * `localhost`)
   */
  disabled: withDefault('RTMANAGER_AUTH_DISABLED', bool, 'false', 'service'),
  apiToken: mapped(
    /**
     * bearer token of `/api/v1/internal/*`; required unless `RTMANAGER_AUTH_DISABLED=true`; at least 16 characters (contract §12; the error line says
     * how many, never the value)
     */
    optional('RTMANAGER_API_TOKEN', text, 'contract2'),
    orEmpty,
  ),
  adminUser: mapped(
    /** basic-auth user of the dashboard; required unless auth is disabled */
    optional('RTMANAGER_ADMIN_USER', text, 'contract2'),
    orEmpty,
  ),
  adminPassword: mapped(
    /** basic-auth password of the dashboard; required unless auth is disabled; at least 16 characters (contract §12) */
    optional('RTMANAGER_ADMIN_PASSWORD', text, 'contract2'),
    orEmpty,
  ),
};

// Bull Board may change queues (retry, clean, add, pause…); read-only otherwise.
/** Bull Board may change queues (then only same-origin `application/json` writes); read-only otherwise */
export const ADMIN_WRITE_ENABLED = withDefault('RTMANAGER_ADMIN_WRITE_ENABLED', bool, 'false', 'service');
