/**
 * Configuration: every variable of contract §2, validated with zod at boot.
 * A bad value stops boot with exit code 1 and one line per bad variable,
 * naming it and saying why — an operator fixes all of them in one go.
 *
 * Ours in addition, not the contract's (README "Configuration"):
 * RTMANAGER_AUTH_DISABLED [false], RTMANAGER_PGLITE_DIR [var/pglite],
 * RTMANAGER_JOB_ATTEMPTS [5], RTMANAGER_JOB_BACKOFF_MS [1000],
 * RTMANAGER_WORKER_CONCURRENCY [20], RTMANAGER_JOB_LOCK_MS [10000],
 * RTMANAGER_JOB_MAX_STALLS [20],
 * RTMANAGER_INTAKE_CLAIM_IDLE_MS [30000], RTMANAGER_SHUTDOWN_GRACE_MS [25000],
 * RTMANAGER_QUEUE_PREFIX [bull], RTMANAGER_HTTP_BODY_LIMIT_BYTES [65536],
 * RTMANAGER_STOP_TIMEOUT_SECONDS [10]; test-only: RTMANAGER_TEST_CRASH_AT,
 * RTMANAGER_TEST_CRASH_MARKER_DIR.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseDockerSize } from './domain/docker-size.js';
import type { PullPolicy } from './domain/model.js';

export interface Config {
  redisUrl: string;
  /** Undefined: the embedded PGlite database in `pgliteDir`. */
  databaseUrl: string | undefined;
  pgliteDir: string;
  http: { host: string; port: number; bodyLimitBytes: number };
  auth: { disabled: boolean; apiToken: string; adminUser: string; adminPassword: string };
  docker: {
    host: string;
    network: string;
    logDriver: string;
    logOpts: string;
    pullPolicy: PullPolicy;
    /** Deadlines (contract §10): every call but a pull; a whole pull; a silent pull. */
    timeoutMs: number;
    pullTimeoutMs: number;
    pullInactivityMs: number;
  };
  container: {
    defaultCpuQuota: number;
    defaultMemory: string;
    defaultPidsLimit: number;
    engineStateMountPath: string;
    engineStateEnvName: string;
    enginePort: number;
    gameStateRoot: string;
    gameStateDirMode: number;
    gameStateOwnerUid: number;
    gameStateOwnerGid: number;
    stopTimeoutSeconds: number;
    /** On every engine container; the reconciler and events follower look only at containers carrying them. */
    extraLabels: Record<string, string>;
  };
  leaseTtlMs: number;
  lobbyBaseUrl: string | undefined;
  streams: { startJobs: string; healthEvents: string; notificationIntents: string };
  reconcileIntervalMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  jobs: { attempts: number; backoffMs: number; concurrency: number; lockMs: number; maxStalls: number };
  /** Test-only: `game:step,…` — the worker SIGKILLs itself at that step, once per game (markers in crashMarkerDir). */
  testCrashAt: Record<string, string>;
  testCrashMarkerDir: string | undefined;
  intake: { claimIdleMs: number };
  shutdownGraceMs: number;
  queuePrefix: string;
}

type Env = Record<string, string | undefined>;

const got = (value: unknown): string => `(got ${JSON.stringify(value)})`;

/** A URL's password never reaches stderr (and from there the logs). */
const gotUrl = (value: unknown): string => got(typeof value === 'string' ? value.replace(/^([^:/]*:\/\/[^:/@]*:).*@/, '$1***@') : value);

const int = (min: number, max: number) =>
  z.string().refine((v) => /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max, {
    error: (issue) => `must be an integer between ${min} and ${max} ${got(issue.input)}`,
  }).transform((v) => Number(v));

const positiveDecimal = z.string().refine((v) => /^\d*\.?\d+$/.test(v.trim()) && Number(v) > 0, {
  error: (issue) => `must be a positive decimal number ${got(issue.input)}`,
}).transform((v) => Number(v));

const bool = z.string().refine((v) => v === 'true' || v === 'false', {
  error: (issue) => `must be "true" or "false" ${got(issue.input)}`,
}).transform((v) => v === 'true');

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: (issue) => `must be a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL ${gotUrl(issue.input)}` },
  );

const nonEmpty = z.string().refine((v) => v.trim() !== '', { error: (issue) => `must not be blank ${got(issue.input)}` });

const dockerSize = z.string().refine((v) => (parseDockerSize(v) ?? 0) > 0, {
  error: (issue) => `must be a Docker size such as 512m or 1g ${got(issue.input)}`,
});

const logOpts = z.string().refine((v) => v.trim() === '' || v.split(',').every((p) => /^[^=,\s]+=[^,]*$/.test(p.trim())), {
  error: (issue) => `must be k=v pairs separated by commas ${got(issue.input)}`,
});

const octalMode = z.string().refine((v) => /^0?[0-7]{3,4}$/.test(v.trim()), {
  error: (issue) => `must be an octal file mode such as 0750 ${got(issue.input)}`,
}).transform((v) => parseInt(v, 8));

const dockerHost = z.string().refine((v) => /^(unix:\/\/\/.+|tcp:\/\/[^/]+|npipe:\/\/.+)$/.test(v), {
  error: (issue) => `must be unix:///path or tcp://host:port ${got(issue.input)}`,
});

const absolutePath = z.string().refine((v) => v.startsWith('/'), { error: (issue) => `must be an absolute path ${got(issue.input)}` });

const envName = z.string().refine((v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v), { error: (issue) => `must be an environment variable name ${got(issue.input)}` });

/** Each variable: its schema and its default (undefined = optional, no default). */
const VARIABLES = {
  RTMANAGER_REDIS_URL: [url(['redis:', 'rediss:']), 'redis://127.0.0.1:6379'],
  RTMANAGER_DATABASE_URL: [url(['postgres:', 'postgresql:']), undefined],
  RTMANAGER_PGLITE_DIR: [nonEmpty, 'var/pglite'],
  RTMANAGER_HTTP_HOST: [nonEmpty, '127.0.0.1'],
  RTMANAGER_HTTP_PORT: [int(1, 65535), '8090'],
  RTMANAGER_HTTP_BODY_LIMIT_BYTES: [int(1024, 16 * 1024 * 1024), '65536'],
  RTMANAGER_AUTH_DISABLED: [bool, 'false'],
  RTMANAGER_API_TOKEN: [z.string(), undefined],
  RTMANAGER_ADMIN_USER: [z.string(), undefined],
  RTMANAGER_ADMIN_PASSWORD: [z.string(), undefined],
  RTMANAGER_DOCKER_HOST: [dockerHost, undefined],
  RTMANAGER_DOCKER_NETWORK: [nonEmpty, 'galaxy-engines'],
  RTMANAGER_DOCKER_LOG_DRIVER: [nonEmpty, 'json-file'],
  RTMANAGER_DOCKER_LOG_OPTS: [logOpts, 'max-size=10m,max-file=3'],
  RTMANAGER_DOCKER_PULL_POLICY: [z.enum(['always', 'if_not_present', 'never'], { error: (issue) => `must be always, if_not_present or never ${got(issue.input)}` }), 'if_not_present'],
  RTMANAGER_DOCKER_TIMEOUT_MS: [int(100, 3_600_000), '30000'],
  RTMANAGER_PULL_TIMEOUT_MS: [int(1_000, 86_400_000), '900000'],
  RTMANAGER_PULL_INACTIVITY_MS: [int(1_000, 86_400_000), '120000'],
  RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: [positiveDecimal, '1.0'],
  RTMANAGER_CONTAINER_DEFAULT_MEMORY: [dockerSize, '512m'],
  RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: [int(1, 4_194_304), '256'],
  RTMANAGER_ENGINE_STATE_MOUNT_PATH: [absolutePath, '/var/lib/galaxy/engine'],
  RTMANAGER_ENGINE_STATE_ENV_NAME: [envName, 'GALAXY_ENGINE_STATE_DIR'],
  RTMANAGER_ENGINE_PORT: [int(1, 65535), '8080'],
  RTMANAGER_GAME_STATE_ROOT: [nonEmpty, './var/game-state'],
  RTMANAGER_GAME_STATE_DIR_MODE: [octalMode, '0750'],
  RTMANAGER_GAME_STATE_OWNER_UID: [int(0, 4_294_967_294), undefined],
  RTMANAGER_GAME_STATE_OWNER_GID: [int(0, 4_294_967_294), undefined],
  RTMANAGER_GAME_LEASE_TTL_MS: [int(1_000, 3_600_000), '60000'],
  RTMANAGER_STOP_TIMEOUT_SECONDS: [int(0, 600), '10'],
  RTMANAGER_LOBBY_BASE_URL: [url(['http:', 'https:']), undefined],
  RTMANAGER_START_JOBS_STREAM: [nonEmpty, 'runtime:start_jobs'],
  RTMANAGER_HEALTH_EVENTS_STREAM: [nonEmpty, 'runtime:health_events'],
  RTMANAGER_NOTIFICATION_INTENTS_STREAM: [nonEmpty, 'notification:intents'],
  RTMANAGER_RECONCILE_INTERVAL_MS: [int(1_000, 86_400_000), '30000'],
  RTMANAGER_LOG_LEVEL: [z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: (issue) => `must be a pino level (fatal, error, warn, info, debug, trace, silent) ${got(issue.input)}` }), 'info'],
  RTMANAGER_JOB_ATTEMPTS: [int(1, 100), '5'],
  RTMANAGER_JOB_BACKOFF_MS: [int(10, 600_000), '1000'],
  RTMANAGER_WORKER_CONCURRENCY: [int(1, 1_000), '20'],
  RTMANAGER_CONTAINER_EXTRA_LABELS: [logOpts, ''],
  RTMANAGER_JOB_LOCK_MS: [int(1_000, 600_000), '10000'],
  RTMANAGER_JOB_MAX_STALLS: [int(1, 1_000), '20'],
  RTMANAGER_TEST_CRASH_AT: [z.string().refine((v) => v.split(',').every((p) => /^[^:,]+:[a-z_]+$/.test(p.trim())), { error: (issue) => `must be game:step pairs separated by commas ${got(issue.input)}` }), undefined],
  RTMANAGER_TEST_CRASH_MARKER_DIR: [absolutePath, undefined],
  RTMANAGER_INTAKE_CLAIM_IDLE_MS: [int(100, 3_600_000), '30000'],
  RTMANAGER_SHUTDOWN_GRACE_MS: [int(0, 600_000), '25000'],
  RTMANAGER_QUEUE_PREFIX: [z.string().refine((v) => /^[A-Za-z0-9_-]+$/.test(v), { error: (issue) => `must be letters, digits, - or _ ${got(issue.input)}` }), 'bull'],
} as const satisfies Record<string, readonly [z.ZodType<unknown, string>, string | undefined]>;

/** Every variable this module reads (besides DOCKER_HOST, the fallback of RTMANAGER_DOCKER_HOST). */
export const CONFIG_VARIABLES = Object.keys(VARIABLES) as ReadonlyArray<keyof typeof VARIABLES>;

type Parsed = { [K in keyof typeof VARIABLES]: z.output<(typeof VARIABLES)[K][0]> | undefined };

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

export function loadConfig(env: Env = process.env): ConfigResult {
  const errors: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, [schema, fallback]] of Object.entries(VARIABLES) as Array<[string, readonly [z.ZodType, string | undefined]]>) {
    // An empty value means "not set": shells and Procfiles often export `X=`.
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    if (raw === undefined) continue;
    const result = schema.safeParse(raw);
    if (result.success) parsed[name] = result.data;
    else errors.push(`${name}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  }
  const p = parsed as Parsed;

  const authDisabled = p.RTMANAGER_AUTH_DISABLED ?? false;
  if (!authDisabled) {
    for (const name of ['RTMANAGER_API_TOKEN', 'RTMANAGER_ADMIN_USER', 'RTMANAGER_ADMIN_PASSWORD'] as const) {
      if (!p[name] || p[name].trim() === '') errors.push(`${name}: required unless RTMANAGER_AUTH_DISABLED=true`);
    }
    if (p.RTMANAGER_API_TOKEN && p.RTMANAGER_API_TOKEN.length < 16) errors.push('RTMANAGER_API_TOKEN: must be at least 16 characters');
  }
  if (errors.length > 0) return { ok: false, errors };

  const dockerHost = p.RTMANAGER_DOCKER_HOST ?? (env.DOCKER_HOST && env.DOCKER_HOST !== '' ? env.DOCKER_HOST : 'unix:///var/run/docker.sock');
  return {
    ok: true,
    config: {
      redisUrl: p.RTMANAGER_REDIS_URL!,
      databaseUrl: p.RTMANAGER_DATABASE_URL,
      pgliteDir: path.resolve(p.RTMANAGER_PGLITE_DIR!),
      http: { host: p.RTMANAGER_HTTP_HOST!, port: p.RTMANAGER_HTTP_PORT!, bodyLimitBytes: p.RTMANAGER_HTTP_BODY_LIMIT_BYTES! },
      auth: {
        disabled: authDisabled,
        apiToken: p.RTMANAGER_API_TOKEN ?? '',
        adminUser: p.RTMANAGER_ADMIN_USER ?? '',
        adminPassword: p.RTMANAGER_ADMIN_PASSWORD ?? '',
      },
      docker: {
        host: dockerHost,
        network: p.RTMANAGER_DOCKER_NETWORK!,
        logDriver: p.RTMANAGER_DOCKER_LOG_DRIVER!,
        logOpts: p.RTMANAGER_DOCKER_LOG_OPTS!,
        pullPolicy: p.RTMANAGER_DOCKER_PULL_POLICY!,
        timeoutMs: p.RTMANAGER_DOCKER_TIMEOUT_MS!,
        pullTimeoutMs: p.RTMANAGER_PULL_TIMEOUT_MS!,
        pullInactivityMs: p.RTMANAGER_PULL_INACTIVITY_MS!,
      },
      container: {
        defaultCpuQuota: p.RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA!,
        defaultMemory: p.RTMANAGER_CONTAINER_DEFAULT_MEMORY!,
        defaultPidsLimit: p.RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT!,
        engineStateMountPath: p.RTMANAGER_ENGINE_STATE_MOUNT_PATH!,
        engineStateEnvName: p.RTMANAGER_ENGINE_STATE_ENV_NAME!,
        enginePort: p.RTMANAGER_ENGINE_PORT!,
        gameStateRoot: path.resolve(p.RTMANAGER_GAME_STATE_ROOT!),
        gameStateDirMode: p.RTMANAGER_GAME_STATE_DIR_MODE!,
        gameStateOwnerUid: p.RTMANAGER_GAME_STATE_OWNER_UID ?? process.getuid?.() ?? 0,
        gameStateOwnerGid: p.RTMANAGER_GAME_STATE_OWNER_GID ?? process.getgid?.() ?? 0,
        stopTimeoutSeconds: p.RTMANAGER_STOP_TIMEOUT_SECONDS!,
        extraLabels: Object.fromEntries(
          (p.RTMANAGER_CONTAINER_EXTRA_LABELS ?? '').split(',').map((x) => x.trim()).filter((x) => x.includes('=')).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]),
        ),
      },
      leaseTtlMs: p.RTMANAGER_GAME_LEASE_TTL_MS!,
      lobbyBaseUrl: p.RTMANAGER_LOBBY_BASE_URL,
      streams: {
        startJobs: p.RTMANAGER_START_JOBS_STREAM!,
        healthEvents: p.RTMANAGER_HEALTH_EVENTS_STREAM!,
        notificationIntents: p.RTMANAGER_NOTIFICATION_INTENTS_STREAM!,
      },
      reconcileIntervalMs: p.RTMANAGER_RECONCILE_INTERVAL_MS!,
      logLevel: p.RTMANAGER_LOG_LEVEL!,
      jobs: { attempts: p.RTMANAGER_JOB_ATTEMPTS!, backoffMs: p.RTMANAGER_JOB_BACKOFF_MS!, concurrency: p.RTMANAGER_WORKER_CONCURRENCY!, lockMs: p.RTMANAGER_JOB_LOCK_MS!, maxStalls: p.RTMANAGER_JOB_MAX_STALLS! },
      testCrashAt: Object.fromEntries((p.RTMANAGER_TEST_CRASH_AT ?? '').split(',').filter((x) => x.includes(':')).map((x) => x.trim().split(':') as [string, string])),
      testCrashMarkerDir: p.RTMANAGER_TEST_CRASH_MARKER_DIR,
      intake: { claimIdleMs: p.RTMANAGER_INTAKE_CLAIM_IDLE_MS! },
      shutdownGraceMs: p.RTMANAGER_SHUTDOWN_GRACE_MS!,
      queuePrefix: p.RTMANAGER_QUEUE_PREFIX!,
    },
  };
}

/** Boot: the configuration, or exit 1 with one line per bad variable on stderr. */
export function bootConfigOrExit(env: Env = process.env): Config {
  const result = loadConfig(env);
  if (result.ok) return result.config;
  process.stderr.write(`invalid configuration:\n${result.errors.map((e) => `  ${e}`).join('\n')}\n`);
  process.exit(1);
}
