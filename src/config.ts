/**
 * Configuration: every variable of contract §2 and §10, validated at boot by
 * one zod schema over the environment whose output is `Config`. A bad value
 * stops boot with exit code 1 and one line per bad variable, naming it and
 * saying why — an operator fixes all of them in one go.
 *
 * Ours in addition, not the contract's: see the README's "Configuration".
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseDockerSize } from './domain/docker-size.js';
import { isKeyValueList, parseKeyValues } from './domain/key-values.js';

type Env = Record<string, string | undefined>;

const got = (value: unknown): string => `(got ${JSON.stringify(value)})`;

/** A URL's password never reaches stderr (and from there the logs). */
const gotUrl = (value: unknown): string => got(typeof value === 'string' ? value.replace(/^([^:/]*:\/\/[^:/@]*:).*@/, '$1***@') : value);

/**
 * Checked on the string, not coerced: `0x10`, `1e3` or ` 12` are typos
 * here, and the error line quotes what the operator wrote.
 */
const int = (min: number, max: number) =>
  z
    .string()
    .refine((v) => /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max, {
      error: (issue) => `must be an integer between ${min} and ${max} ${got(issue.input)}`,
    })
    .transform((v) => Number(v));

/** A duration of contract §10: positive, at most a day. */
const ms = int(1, 86_400_000);

const positiveDecimal = z
  .string()
  .refine((v) => /^\d*\.?\d+$/.test(v.trim()) && Number(v) > 0, {
    error: (issue) => `must be a positive decimal number ${got(issue.input)}`,
  })
  .transform((v) => Number(v));

// Not z.stringbool: its failure aborts the whole parse, and the credential
// lines below must still be reported beside a bad RTMANAGER_AUTH_DISABLED.
const bool = z
  .string()
  .refine((v) => v === 'true' || v === 'false', {
    error: (issue) => `must be "true" or "false" ${got(issue.input)}`,
  })
  .transform((v) => v === 'true');

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

const keyValues = z.string().refine((v) => isKeyValueList(v), {
  error: (issue) => `must be k=v pairs separated by commas ${got(issue.input)}`,
});

const octalMode = z
  .string()
  .refine((v) => /^0?[0-7]{3,4}$/.test(v.trim()), {
    error: (issue) => `must be an octal file mode such as 0750 ${got(issue.input)}`,
  })
  .transform((v) => parseInt(v, 8));

/** Named pipes are Windows-only; this service runs on Linux, so they are refused by name. */
const dockerHost = z.string().superRefine((v, ctx) => {
  if (/^(unix:\/\/\/.+|tcp:\/\/[^/]+)$/.test(v)) return;
  const why = v.startsWith('npipe:') ? 'must be unix:///path or tcp://host:port; npipe:// is Windows-only' : 'must be unix:///path or tcp://host:port';
  ctx.addIssue({ code: 'custom', message: `${why} ${got(v)}` });
});

const absolutePath = z.string().refine((v) => v.startsWith('/'), { error: (issue) => `must be an absolute path ${got(issue.input)}` });

const envName = z.string().refine((v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v), { error: (issue) => `must be an environment variable name ${got(issue.input)}` });

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, why: string) => z.enum(values, { error: (issue) => `${why} ${got(issue.input)}` });

// An empty value means "not set": shells and Procfiles often export `X=`.
const unsetIfEmpty = (value: unknown): unknown => (value === '' ? undefined : value);

/** A variable with its default, written as an operator would write it and validated like one. */
const withDefault = <T>(schema: z.ZodType<T, string>, fallback: string) => z.preprocess(unsetIfEmpty, schema.prefault(fallback));

/** A variable without a default. */
const optional = <T>(schema: z.ZodType<T, string>) => z.preprocess(unsetIfEmpty, schema.optional());

/** Each variable, in the order its error lines are reported. */
const ENV = z.object({
  RTMANAGER_REDIS_URL: withDefault(url(['redis:', 'rediss:']), 'redis://127.0.0.1:6379'),
  RTMANAGER_DATABASE_URL: optional(url(['postgres:', 'postgresql:'])),
  RTMANAGER_PGLITE_DIR: withDefault(nonEmpty, 'var/pglite'),
  RTMANAGER_HTTP_HOST: withDefault(nonEmpty, '127.0.0.1'),
  RTMANAGER_HTTP_PORT: withDefault(int(1, 65535), '8090'),
  RTMANAGER_HTTP_BODY_LIMIT_BYTES: withDefault(int(1024, 16 * 1024 * 1024), '65536'),
  RTMANAGER_AUTH_DISABLED: withDefault(bool, 'false'),
  RTMANAGER_API_TOKEN: optional(z.string()),
  RTMANAGER_ADMIN_USER: optional(z.string()),
  RTMANAGER_ADMIN_PASSWORD: optional(z.string()),
  RTMANAGER_DOCKER_HOST: optional(dockerHost),
  // Read only when RTMANAGER_DOCKER_HOST is unset (see the preprocess below), and validated like it.
  DOCKER_HOST: optional(dockerHost),
  RTMANAGER_DOCKER_NETWORK: withDefault(nonEmpty, 'galaxy-engines'),
  RTMANAGER_DOCKER_LOG_DRIVER: withDefault(nonEmpty, 'json-file'),
  RTMANAGER_DOCKER_LOG_OPTS: withDefault(keyValues, 'max-size=10m,max-file=3'),
  RTMANAGER_DOCKER_PULL_POLICY: withDefault(oneOf(['always', 'if_not_present', 'never'], 'must be always, if_not_present or never'), 'if_not_present'),
  RTMANAGER_DOCKER_CONFIG: optional(nonEmpty),
  // Read only when RTMANAGER_DOCKER_CONFIG is unset: the directory the Docker CLI keeps its config.json in.
  DOCKER_CONFIG: optional(nonEmpty),
  RTMANAGER_PULL_FALLBACK_TO_LOCAL: withDefault(bool, 'true'),
  RTMANAGER_DOCKER_TIMEOUT_MS: withDefault(ms, '30000'),
  RTMANAGER_PULL_TIMEOUT_MS: withDefault(ms, '900000'),
  RTMANAGER_PULL_INACTIVITY_MS: withDefault(ms, '120000'),
  RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: withDefault(positiveDecimal, '1.0'),
  RTMANAGER_CONTAINER_DEFAULT_MEMORY: withDefault(dockerSize, '512m'),
  RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: withDefault(int(1, 4_194_304), '256'),
  RTMANAGER_ENGINE_STATE_MOUNT_PATH: withDefault(absolutePath, '/var/lib/galaxy/engine'),
  RTMANAGER_ENGINE_STATE_ENV_NAME: withDefault(envName, 'GALAXY_ENGINE_STATE_DIR'),
  RTMANAGER_ENGINE_PORT: withDefault(int(1, 65535), '8080'),
  RTMANAGER_GAME_STATE_ROOT: withDefault(nonEmpty, './var/game-state'),
  RTMANAGER_GAME_STATE_DIR_MODE: withDefault(octalMode, '0750'),
  RTMANAGER_GAME_STATE_OWNER_UID: optional(int(0, 4_294_967_294)),
  RTMANAGER_GAME_STATE_OWNER_GID: optional(int(0, 4_294_967_294)),
  RTMANAGER_GAME_LEASE_TTL_MS: withDefault(int(1_000, 3_600_000), '60000'),
  RTMANAGER_LEASE_WAIT_MS: withDefault(ms, '600000'),
  RTMANAGER_STOP_TIMEOUT_SECONDS: withDefault(int(0, 600), '10'),
  RTMANAGER_LOBBY_BASE_URL: optional(url(['http:', 'https:'])),
  RTMANAGER_START_JOBS_STREAM: withDefault(nonEmpty, 'runtime:start_jobs'),
  RTMANAGER_HEALTH_EVENTS_STREAM: withDefault(nonEmpty, 'runtime:health_events'),
  RTMANAGER_NOTIFICATION_INTENTS_STREAM: withDefault(nonEmpty, 'notification:intents'),
  RTMANAGER_RECONCILE_INTERVAL_MS: withDefault(int(1_000, 86_400_000), '30000'),
  RTMANAGER_LOG_LEVEL: withDefault(
    oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'must be a pino level (fatal, error, warn, info, debug, trace, silent)'),
    'info',
  ),
  RTMANAGER_JOB_ATTEMPTS: withDefault(int(1, 100), '5'),
  RTMANAGER_JOB_BACKOFF_MS: withDefault(int(10, 600_000), '1000'),
  RTMANAGER_WORKER_CONCURRENCY: withDefault(int(1, 1_000), '20'),
  RTMANAGER_CONTAINER_EXTRA_LABELS: withDefault(
    keyValues.transform((v) => parseKeyValues(v)),
    '',
  ),
  RTMANAGER_JOB_LOCK_MS: withDefault(int(1_000, 600_000), '10000'),
  RTMANAGER_JOB_MAX_STALLS: withDefault(int(1, 1_000), '20'),
  RTMANAGER_INTAKE_CLAIM_IDLE_MS: withDefault(int(100, 3_600_000), '30000'),
  RTMANAGER_SHUTDOWN_GRACE_MS: withDefault(int(0, 600_000), '25000'),
  RTMANAGER_QUEUE_PREFIX: withDefault(
    z.string().refine((v) => /^[A-Za-z0-9_-]+$/.test(v), { error: (issue) => `must be letters, digits, - or _ ${got(issue.input)}` }),
    'bull',
  ),
});

type Variables = z.output<typeof ENV>;

const FALLBACKS = { RTMANAGER_DOCKER_HOST: 'DOCKER_HOST', RTMANAGER_DOCKER_CONFIG: 'DOCKER_CONFIG' } as const;

function withoutOverriddenFallbacks(env: Env): Env {
  const out = { ...env };
  for (const [ours, fallback] of Object.entries(FALLBACKS)) if (unsetIfEmpty(env[ours]) !== undefined) out[fallback] = undefined;
  return out;
}

const CREDENTIALS = ['RTMANAGER_API_TOKEN', 'RTMANAGER_ADMIN_USER', 'RTMANAGER_ADMIN_PASSWORD'] as const;

/** The nested shape the rest of the service reads. */
function toConfig(v: Variables) {
  return {
    redisUrl: v.RTMANAGER_REDIS_URL,
    /** Undefined: the embedded PGlite database in `pgliteDir`. */
    databaseUrl: v.RTMANAGER_DATABASE_URL,
    pgliteDir: path.resolve(v.RTMANAGER_PGLITE_DIR),
    http: { host: v.RTMANAGER_HTTP_HOST, port: v.RTMANAGER_HTTP_PORT, bodyLimitBytes: v.RTMANAGER_HTTP_BODY_LIMIT_BYTES },
    auth: {
      disabled: v.RTMANAGER_AUTH_DISABLED,
      apiToken: v.RTMANAGER_API_TOKEN ?? '',
      adminUser: v.RTMANAGER_ADMIN_USER ?? '',
      adminPassword: v.RTMANAGER_ADMIN_PASSWORD ?? '',
    },
    docker: {
      host: v.RTMANAGER_DOCKER_HOST ?? v.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
      network: v.RTMANAGER_DOCKER_NETWORK,
      logDriver: v.RTMANAGER_DOCKER_LOG_DRIVER,
      /** Raw `k=v,…`: the domain's settings carry it as written. */
      logOpts: v.RTMANAGER_DOCKER_LOG_OPTS,
      pullPolicy: v.RTMANAGER_DOCKER_PULL_POLICY,
      /** The Docker CLI config.json whose `auths` give registry credentials; a missing file means anonymous pulls. */
      configPath: path.resolve(v.RTMANAGER_DOCKER_CONFIG ?? path.join(v.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json')),
      /** Under `always`, an unreachable registry lets a start use the local copy. */
      pullFallbackToLocal: v.RTMANAGER_PULL_FALLBACK_TO_LOCAL,
      /** Deadline of every Docker call except a pull. */
      timeoutMs: v.RTMANAGER_DOCKER_TIMEOUT_MS,
      /** Deadline of a whole pull. */
      pullTimeoutMs: v.RTMANAGER_PULL_TIMEOUT_MS,
      /** A pull silent for this long is abandoned. */
      pullInactivityMs: v.RTMANAGER_PULL_INACTIVITY_MS,
    },
    container: {
      defaultCpuQuota: v.RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA,
      defaultMemory: v.RTMANAGER_CONTAINER_DEFAULT_MEMORY,
      defaultPidsLimit: v.RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT,
      engineStateMountPath: v.RTMANAGER_ENGINE_STATE_MOUNT_PATH,
      engineStateEnvName: v.RTMANAGER_ENGINE_STATE_ENV_NAME,
      enginePort: v.RTMANAGER_ENGINE_PORT,
      gameStateRoot: path.resolve(v.RTMANAGER_GAME_STATE_ROOT),
      gameStateDirMode: v.RTMANAGER_GAME_STATE_DIR_MODE,
      gameStateOwnerUid: v.RTMANAGER_GAME_STATE_OWNER_UID ?? process.getuid?.() ?? 0,
      gameStateOwnerGid: v.RTMANAGER_GAME_STATE_OWNER_GID ?? process.getgid?.() ?? 0,
      stopTimeoutSeconds: v.RTMANAGER_STOP_TIMEOUT_SECONDS,
      /** On every engine container; the reconciler and events follower look only at containers carrying them. */
      extraLabels: v.RTMANAGER_CONTAINER_EXTRA_LABELS,
    },
    leaseTtlMs: v.RTMANAGER_GAME_LEASE_TTL_MS,
    /** How long an operation waits for a busy game before it fails with `conflict`. */
    leaseWaitMs: v.RTMANAGER_LEASE_WAIT_MS,
    lobbyBaseUrl: v.RTMANAGER_LOBBY_BASE_URL,
    streams: {
      startJobs: v.RTMANAGER_START_JOBS_STREAM,
      healthEvents: v.RTMANAGER_HEALTH_EVENTS_STREAM,
      notificationIntents: v.RTMANAGER_NOTIFICATION_INTENTS_STREAM,
    },
    reconcileIntervalMs: v.RTMANAGER_RECONCILE_INTERVAL_MS,
    logLevel: v.RTMANAGER_LOG_LEVEL,
    jobs: {
      attempts: v.RTMANAGER_JOB_ATTEMPTS,
      backoffMs: v.RTMANAGER_JOB_BACKOFF_MS,
      concurrency: v.RTMANAGER_WORKER_CONCURRENCY,
      lockMs: v.RTMANAGER_JOB_LOCK_MS,
      maxStalls: v.RTMANAGER_JOB_MAX_STALLS,
    },
    intake: { claimIdleMs: v.RTMANAGER_INTAKE_CLAIM_IDLE_MS },
    shutdownGraceMs: v.RTMANAGER_SHUTDOWN_GRACE_MS,
    queuePrefix: v.RTMANAGER_QUEUE_PREFIX,
  };
}

export const configSchema = z
  // DOCKER_HOST and DOCKER_CONFIG are fallbacks: when ours is given, whatever else they say is not ours to judge.
  .preprocess((env) => withoutOverriddenFallbacks(env as Env), ENV)
  .superRefine(
    (v, ctx) => {
      // A variable that failed above is still its raw string here: only `true` disables auth.
      if (v.RTMANAGER_AUTH_DISABLED === true) return;
      for (const name of CREDENTIALS) {
        if (!v[name] || v[name].trim() === '') ctx.addIssue({ code: 'custom', path: [name], message: 'required unless RTMANAGER_AUTH_DISABLED=true' });
      }
      if (v.RTMANAGER_API_TOKEN && v.RTMANAGER_API_TOKEN.length < 16)
        ctx.addIssue({ code: 'custom', path: ['RTMANAGER_API_TOKEN'], message: 'must be at least 16 characters' });
    },
    // Credentials are reported beside the other bad variables, not after they are fixed.
    { when: () => true },
  )
  .transform(toConfig);

export type Config = z.output<typeof configSchema>;

/** Every variable this module reads. */
export const CONFIG_VARIABLES = Object.keys(ENV.shape) as ReadonlyArray<keyof typeof ENV.shape>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

export function loadConfig(env: Env = process.env): ConfigResult {
  const result = configSchema.safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  // One line per variable: its first problem is the one to fix.
  const lines = new Map<string, string>();
  for (const issue of result.error.issues) {
    const name = String(issue.path[0] ?? 'environment');
    if (!lines.has(name)) lines.set(name, `${name}: ${issue.message}`);
  }
  return { ok: false, errors: [...lines.values()] };
}

/** Boot: the configuration, or exit 1 with one line per bad variable on stderr. */
export function bootConfigOrExit(env: Env = process.env): Config {
  const result = loadConfig(env);
  if (result.ok) return result.config;
  process.stderr.write(`invalid configuration:\n${result.errors.map((e) => `  ${e}`).join('\n')}\n`);
  process.exit(1);
}
