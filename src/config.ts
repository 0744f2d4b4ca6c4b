/**
 * Configuration: every variable of contract §2, §10, §12 (engine containers,
 * Docker TLS) and §13, validated at boot by one zod schema over the
 * environment whose output is `Config`. A bad value
 * stops boot with exit code 1 and one line per bad variable, naming it and
 * saying why — an operator fixes all of them in one go.
 *
 * Ours in addition, not the contract's: see the README's "Configuration".
 */
import { isIPv4 } from 'node:net';
import { availableParallelism, homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseCapabilities } from './domain/capabilities.js';
import { MIN_CPU_QUOTA, MIN_MEMORY, MIN_MEMORY_BYTES } from './domain/container-spec.js';
import { parseDockerSize } from './domain/docker-size.js';
import { isRegistryHost } from './domain/image-ref.js';
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

const isPositiveDecimal = (v: string): boolean => /^\d*\.?\d+$/.test(v.trim()) && Number(v) > 0;

/** Contract §14: less CPU than this is no CPU limit to Docker, or an engine that cannot start. */
const cpuQuota = z
  .string()
  .refine((v) => isPositiveDecimal(v) && Number(v) >= MIN_CPU_QUOTA, {
    error: (issue) =>
      isPositiveDecimal(String(issue.input))
        ? `must be at least ${MIN_CPU_QUOTA}: Docker cannot limit an engine to less CPU ${got(issue.input)}`
        : `must be a positive decimal number ${got(issue.input)}`,
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

/** Contract §14: Docker's smallest memory limit (0 would be none). A value that is no size failed just above. */
const memoryLimit = dockerSize.refine(
  (v) => {
    const bytes = parseDockerSize(v) ?? 0;
    return bytes <= 0 || bytes >= MIN_MEMORY_BYTES;
  },
  { error: (issue) => `must be at least ${MIN_MEMORY}, Docker's smallest memory limit ${got(issue.input)}` },
);

const capabilities = z
  .string()
  .refine((v) => parseCapabilities(v) !== null, {
    error: (issue) => `must be ALL or Linux capability names (such as NET_BIND_SERVICE) separated by commas ${got(issue.input)}`,
  })
  .transform((v) => parseCapabilities(v) ?? []);

/** Numeric: a FROM scratch engine image has no /etc/passwd to look a name up in. */
const uidGid = z.string().refine((v) => /^\d{1,10}:\d{1,10}$/.test(v) && v.split(':').every((id) => Number(id) <= 4_294_967_294), {
  error: (issue) => `must be uid:gid, two numbers such as 65534:65534 ${got(issue.input)}`,
});

const keyValues = z.string().refine((v) => isKeyValueList(v), {
  error: (issue) => `must be k=v pairs separated by commas ${got(issue.input)}`,
});

/** `host[:port],…`; blank entries are ignored, so an empty value allows every registry. */
const registryHosts = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== ''),
  )
  .superRefine((hosts, ctx) => {
    const bad = hosts.filter((h) => !isRegistryHost(h));
    if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `must be registry hosts such as docker.io or registry.example:5000 ${got(bad.join(','))}` });
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
  // Contract §14. At least 100 ms: below that a healthy query on a busy server would fail. No 0: nothing waits forever.
  RTMANAGER_DB_STATEMENT_TIMEOUT_MS: withDefault(int(100, 86_400_000), '10000'),
  RTMANAGER_HTTP_HOST: withDefault(nonEmpty, '127.0.0.1'),
  RTMANAGER_HTTP_PORT: withDefault(int(1, 65535), '8090'),
  RTMANAGER_HTTP_BODY_LIMIT_BYTES: withDefault(int(1024, 16 * 1024 * 1024), '65536'),
  RTMANAGER_WORKER_OPS_PORT: withDefault(int(1, 65535), '8091'),
  RTMANAGER_INTAKE_OPS_PORT: withDefault(int(1, 65535), '8092'),
  RTMANAGER_HTTP_MAX_WAITERS: withDefault(int(1, 1_000_000), '1000'),
  RTMANAGER_AUTH_DISABLED: withDefault(bool, 'false'),
  RTMANAGER_ADMIN_WRITE_ENABLED: withDefault(bool, 'false'),
  RTMANAGER_API_TOKEN: optional(z.string()),
  RTMANAGER_ADMIN_USER: optional(z.string()),
  RTMANAGER_ADMIN_PASSWORD: optional(z.string()),
  RTMANAGER_DOCKER_HOST: optional(dockerHost),
  // Read only when RTMANAGER_DOCKER_HOST is unset (see the preprocess below), and validated like it.
  DOCKER_HOST: optional(dockerHost),
  // The Docker CLI's TLS variables, read as it reads them (contract §12): any non-empty value turns TLS on, "0" included.
  DOCKER_TLS_VERIFY: optional(z.string()),
  DOCKER_TLS: optional(z.string()),
  DOCKER_CERT_PATH: optional(nonEmpty),
  // Where the CLI keeps its files, the certificates' default directory too.
  DOCKER_CONFIG: optional(nonEmpty),
  RTMANAGER_RUNTIME_BACKEND: withDefault(oneOf(['docker', 'swarm'], 'must be docker or swarm'), 'docker'),
  // Ours (issue 13): how long a Swarm task may wait for a node before the start fails, whether it reserves its limits, how often tasks are read.
  RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS: withDefault(ms, '30000'),
  RTMANAGER_SWARM_RESERVE_LIMITS: withDefault(bool, 'true'),
  RTMANAGER_SWARM_POLL_MS: withDefault(int(100, 60_000), '1000'),
  RTMANAGER_DOCKER_NETWORK: withDefault(nonEmpty, 'galaxy-engines'),
  RTMANAGER_DOCKER_LOG_DRIVER: withDefault(nonEmpty, 'json-file'),
  RTMANAGER_DOCKER_LOG_OPTS: withDefault(keyValues, 'max-size=10m,max-file=3'),
  RTMANAGER_DOCKER_PULL_POLICY: withDefault(oneOf(['always', 'if_not_present', 'never'], 'must be always, if_not_present or never'), 'if_not_present'),
  RTMANAGER_ALLOWED_REGISTRIES: withDefault(registryHosts, ''),
  RTMANAGER_DOCKER_CONFIG: optional(nonEmpty),
  RTMANAGER_PULL_FALLBACK_TO_LOCAL: withDefault(bool, 'true'),
  RTMANAGER_DOCKER_TIMEOUT_MS: withDefault(ms, '30000'),
  RTMANAGER_DOCKER_RUN_CONCURRENCY: withDefault(int(1, 1_000), '8'),
  RTMANAGER_PULL_TIMEOUT_MS: withDefault(ms, '900000'),
  RTMANAGER_PULL_INACTIVITY_MS: withDefault(ms, '120000'),
  RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: withDefault(cpuQuota, '1.0'),
  RTMANAGER_CONTAINER_DEFAULT_MEMORY: withDefault(memoryLimit, '512m'),
  RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: withDefault(int(1, 4_194_304), '256'),
  // Docker itself refuses more CPUs than the host has.
  RTMANAGER_CONTAINER_MAX_CPU_QUOTA: withDefault(cpuQuota, String(availableParallelism())),
  RTMANAGER_CONTAINER_MAX_MEMORY: withDefault(memoryLimit, '8g'),
  RTMANAGER_CONTAINER_MAX_PIDS_LIMIT: withDefault(int(1, 4_194_304), '4096'),
  RTMANAGER_CONTAINER_CAP_DROP: withDefault(capabilities, 'ALL'),
  RTMANAGER_CONTAINER_CAP_ADD: withDefault(capabilities, ''),
  RTMANAGER_CONTAINER_READ_ONLY_ROOTFS: withDefault(bool, 'true'),
  RTMANAGER_CONTAINER_TMPFS_SIZE: withDefault(
    dockerSize.transform((v) => parseDockerSize(v) ?? 0),
    '64m',
  ),
  RTMANAGER_CONTAINER_USER: optional(uidGid),
  RTMANAGER_ENGINE_STATE_MOUNT_PATH: withDefault(absolutePath, '/var/lib/galaxy/engine'),
  RTMANAGER_ENGINE_STATE_ENV_NAME: withDefault(envName, 'GALAXY_ENGINE_STATE_DIR'),
  RTMANAGER_ENGINE_PORT: withDefault(int(1, 65535), '8080'),
  RTMANAGER_GAME_STATE_ROOT: withDefault(nonEmpty, './var/game-state'),
  RTMANAGER_GAME_STATE_DIR_MODE: withDefault(octalMode, '0750'),
  RTMANAGER_GAME_STATE_OWNER_UID: optional(int(0, 4_294_967_294)),
  RTMANAGER_GAME_STATE_OWNER_GID: optional(int(0, 4_294_967_294)),
  RTMANAGER_GAME_LEASE_TTL_MS: withDefault(int(1_000, 3_600_000), '60000'),
  RTMANAGER_LEASE_WAIT_MS: withDefault(ms, '600000'),
  // A second at least (tests shorten it); a year at most: per-game keys live this long after a game's last operation.
  RTMANAGER_STREAM_DEDUP_WINDOW_MS: withDefault(int(1_000, 31_536_000_000), '86400000'),
  RTMANAGER_STOP_TIMEOUT_SECONDS: withDefault(int(0, 600), '10'),
  RTMANAGER_LOBBY_BASE_URL: optional(url(['http:', 'https:'])),
  RTMANAGER_START_JOBS_STREAM: withDefault(nonEmpty, 'runtime:start_jobs'),
  RTMANAGER_HEALTH_EVENTS_STREAM: withDefault(nonEmpty, 'runtime:health_events'),
  RTMANAGER_NOTIFICATION_INTENTS_STREAM: withDefault(nonEmpty, 'notification:intents'),
  RTMANAGER_RECONCILE_INTERVAL_MS: withDefault(int(1_000, 86_400_000), '30000'),
  // A day at least: the audit of today's incident is never pruned under it. A century at most.
  RTMANAGER_OPERATION_LOG_RETENTION_DAYS: withDefault(int(1, 36_500), '90'),
  RTMANAGER_OPERATION_LOG_RETENTION_INTERVAL_MS: withDefault(int(1_000, 86_400_000), '3600000'),
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

// DOCKER_CONFIG is not one: besides config.json it names the TLS certificates' default directory.
const FALLBACKS = { RTMANAGER_DOCKER_HOST: 'DOCKER_HOST' } as const;

function withoutOverriddenFallbacks(env: Env): Env {
  const out = { ...env };
  for (const [ours, fallback] of Object.entries(FALLBACKS)) if (unsetIfEmpty(env[ours]) !== undefined) out[fallback] = undefined;
  return out;
}

const CREDENTIALS = ['RTMANAGER_API_TOKEN', 'RTMANAGER_ADMIN_USER', 'RTMANAGER_ADMIN_PASSWORD'] as const;
const SECRETS = ['RTMANAGER_API_TOKEN', 'RTMANAGER_ADMIN_PASSWORD'] as const;
const SECRET_MIN_LENGTH = 16;

/** Where "no auth" is safe: only this machine can connect. */
function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  return isIPv4(h) && h.startsWith('127.');
}

/** The nested shape the rest of the service reads. */
function toConfig(v: Variables) {
  const host = v.RTMANAGER_DOCKER_HOST ?? v.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  return {
    redisUrl: v.RTMANAGER_REDIS_URL,
    /** Undefined: the embedded PGlite database in `pgliteDir`. */
    databaseUrl: v.RTMANAGER_DATABASE_URL,
    pgliteDir: path.resolve(v.RTMANAGER_PGLITE_DIR),
    /** A database call (statement, lock wait, or no answer at all) past this fails; migrations at boot are not bounded. */
    dbStatementTimeoutMs: v.RTMANAGER_DB_STATEMENT_TIMEOUT_MS,
    http: {
      host: v.RTMANAGER_HTTP_HOST,
      port: v.RTMANAGER_HTTP_PORT,
      bodyLimitBytes: v.RTMANAGER_HTTP_BODY_LIMIT_BYTES,
      /** /healthz, /readyz and /metrics of a worker or intake process run alone (not opened in `all` mode). */
      opsPorts: { worker: v.RTMANAGER_WORKER_OPS_PORT, intake: v.RTMANAGER_INTAKE_OPS_PORT },
      /** Requests that may hold `?wait` at once; beyond, 503. */
      maxWaiters: v.RTMANAGER_HTTP_MAX_WAITERS,
    },
    auth: {
      disabled: v.RTMANAGER_AUTH_DISABLED,
      apiToken: v.RTMANAGER_API_TOKEN ?? '',
      adminUser: v.RTMANAGER_ADMIN_USER ?? '',
      adminPassword: v.RTMANAGER_ADMIN_PASSWORD ?? '',
    },
    /** Bull Board may change queues (retry, clean, add, pause…); read-only otherwise. */
    adminWriteEnabled: v.RTMANAGER_ADMIN_WRITE_ENABLED,
    /** `docker`: one container per game on one engine; `swarm`: one service per game on a Swarm cluster, through a manager. */
    backend: v.RTMANAGER_RUNTIME_BACKEND,
    swarm: {
      /** A task still unplaced (no node with the resources) after this fails its start, with Swarm's reason. */
      placementTimeoutMs: v.RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS,
      /** Reserve each engine's CPU and memory limits, so Swarm places a game only where they fit. */
      reserveLimits: v.RTMANAGER_SWARM_RESERVE_LIMITS,
      /** How often the worker reads the tasks of our services (Swarm emits no task events). */
      pollMs: v.RTMANAGER_SWARM_POLL_MS,
    },
    docker: {
      host,
      /** TLS to a tcp:// daemon, as the Docker CLI would speak it; null: plain HTTP or a unix socket. */
      tls: dockerTls(host, v),
      network: v.RTMANAGER_DOCKER_NETWORK,
      logDriver: v.RTMANAGER_DOCKER_LOG_DRIVER,
      /** Raw `k=v,…`: the domain's settings carry it as written. */
      logOpts: v.RTMANAGER_DOCKER_LOG_OPTS,
      pullPolicy: v.RTMANAGER_DOCKER_PULL_POLICY,
      /** Registry hosts images may come from; empty: any. */
      allowedRegistries: v.RTMANAGER_ALLOWED_REGISTRIES,
      /** The Docker CLI config.json whose `auths` give registry credentials; a missing file means anonymous pulls. */
      configPath: path.resolve(v.RTMANAGER_DOCKER_CONFIG ?? path.join(v.DOCKER_CONFIG ?? path.join(homedir(), '.docker'), 'config.json')),
      /** Under `always`, an unreachable registry lets a start use the local copy. */
      pullFallbackToLocal: v.RTMANAGER_PULL_FALLBACK_TO_LOCAL,
      /** Deadline of every Docker call except a pull. */
      timeoutMs: v.RTMANAGER_DOCKER_TIMEOUT_MS,
      /** Container runs one process has at the daemon at once; more wait their turn in the process, outside any deadline. */
      runConcurrency: v.RTMANAGER_DOCKER_RUN_CONCURRENCY,
      /** Deadline of a whole pull. */
      pullTimeoutMs: v.RTMANAGER_PULL_TIMEOUT_MS,
      /** A pull silent for this long is abandoned. */
      pullInactivityMs: v.RTMANAGER_PULL_INACTIVITY_MS,
    },
    container: {
      defaultCpuQuota: v.RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA,
      defaultMemory: v.RTMANAGER_CONTAINER_DEFAULT_MEMORY,
      defaultPidsLimit: v.RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT,
      /** Ceilings of what an image's labels may ask for. */
      maxCpuQuota: v.RTMANAGER_CONTAINER_MAX_CPU_QUOTA,
      maxMemory: v.RTMANAGER_CONTAINER_MAX_MEMORY,
      maxPidsLimit: v.RTMANAGER_CONTAINER_MAX_PIDS_LIMIT,
      engineStateMountPath: v.RTMANAGER_ENGINE_STATE_MOUNT_PATH,
      engineStateEnvName: v.RTMANAGER_ENGINE_STATE_ENV_NAME,
      enginePort: v.RTMANAGER_ENGINE_PORT,
      gameStateRoot: path.resolve(v.RTMANAGER_GAME_STATE_ROOT),
      gameStateDirMode: v.RTMANAGER_GAME_STATE_DIR_MODE,
      gameStateOwnerUid: v.RTMANAGER_GAME_STATE_OWNER_UID ?? process.getuid?.() ?? 0,
      gameStateOwnerGid: v.RTMANAGER_GAME_STATE_OWNER_GID ?? process.getgid?.() ?? 0,
      stopTimeoutSeconds: v.RTMANAGER_STOP_TIMEOUT_SECONDS,
      /** Contract §12: what every engine container is denied unless configured otherwise. */
      capDrop: v.RTMANAGER_CONTAINER_CAP_DROP,
      capAdd: v.RTMANAGER_CONTAINER_CAP_ADD,
      readOnlyRootfs: v.RTMANAGER_CONTAINER_READ_ONLY_ROOTFS,
      tmpfsSizeBytes: v.RTMANAGER_CONTAINER_TMPFS_SIZE,
      /** `uid:gid`; null: the image's own user. */
      user: v.RTMANAGER_CONTAINER_USER ?? null,
      /** On every engine container; the reconciler and events follower look only at containers carrying them. */
      extraLabels: v.RTMANAGER_CONTAINER_EXTRA_LABELS,
    },
    leaseTtlMs: v.RTMANAGER_GAME_LEASE_TTL_MS,
    /** How long an operation waits for a busy game before it fails with `conflict`. */
    leaseWaitMs: v.RTMANAGER_LEASE_WAIT_MS,
    /** Contract §14: how long a stream entry or request id is remembered, and a game's Redis keys outlive its last operation. */
    streamDedupWindowMs: v.RTMANAGER_STREAM_DEDUP_WINDOW_MS,
    lobbyBaseUrl: v.RTMANAGER_LOBBY_BASE_URL,
    streams: {
      startJobs: v.RTMANAGER_START_JOBS_STREAM,
      healthEvents: v.RTMANAGER_HEALTH_EVENTS_STREAM,
      notificationIntents: v.RTMANAGER_NOTIFICATION_INTENTS_STREAM,
    },
    reconcileIntervalMs: v.RTMANAGER_RECONCILE_INTERVAL_MS,
    operationLog: { retentionDays: v.RTMANAGER_OPERATION_LOG_RETENTION_DAYS, retentionIntervalMs: v.RTMANAGER_OPERATION_LOG_RETENTION_INTERVAL_MS },
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

/**
 * The Docker CLI's rules: DOCKER_TLS_VERIFY turns TLS on and checks the
 * daemon's certificate against `ca.pem`; DOCKER_TLS alone turns it on
 * without that check; `cert.pem` / `key.pem`, when present, are presented to
 * the daemon. The files live in DOCKER_CERT_PATH, else the CLI's own
 * directory (DOCKER_CONFIG, else ~/.docker). A unix socket ignores all of it.
 */
function dockerTls(host: string, v: Variables): { verify: boolean; certPath: string } | null {
  if (!host.startsWith('tcp://') || (v.DOCKER_TLS_VERIFY === undefined && v.DOCKER_TLS === undefined)) return null;
  return {
    verify: v.DOCKER_TLS_VERIFY !== undefined,
    certPath: path.resolve(v.DOCKER_CERT_PATH ?? v.DOCKER_CONFIG ?? path.join(homedir(), '.docker')),
  };
}

export const configSchema = z
  // DOCKER_HOST is a fallback: when ours is given, whatever else it says is not ours to judge.
  .preprocess((env) => withoutOverriddenFallbacks(env as Env), ENV)
  .superRefine(
    (v, ctx) => {
      // A variable that failed above is still its raw string here: only `true` disables auth.
      if (v.RTMANAGER_AUTH_DISABLED === true) {
        if (typeof v.RTMANAGER_HTTP_HOST === 'string' && !isLoopback(v.RTMANAGER_HTTP_HOST)) {
          ctx.addIssue({
            code: 'custom',
            path: ['RTMANAGER_AUTH_DISABLED'],
            message: `must not be true while RTMANAGER_HTTP_HOST is not a loopback address (127.0.0.0/8, ::1, localhost) ${got(v.RTMANAGER_HTTP_HOST)}: the API and the dashboard would be open to the network`,
          });
        }
        return;
      }
      for (const name of CREDENTIALS) {
        if (!v[name] || v[name].trim() === '') ctx.addIssue({ code: 'custom', path: [name], message: 'required unless RTMANAGER_AUTH_DISABLED=true' });
      }
      // Never echoed: the line says how long, not what.
      for (const name of SECRETS) {
        const secret = v[name];
        if (secret && secret.trim() !== '' && secret.length < SECRET_MIN_LENGTH)
          ctx.addIssue({ code: 'custom', path: [name], message: `must be at least ${SECRET_MIN_LENGTH} characters` });
      }
    },
    // Credentials are reported beside the other bad variables, not after they are fixed.
    { when: () => true },
  )
  .superRefine(
    (v, ctx) => {
      // Compared only when both sides parsed: a variable that failed above is still its raw string (a size is one
      // anyway: below Docker's minimum it failed above too).
      const size = (value: string) => {
        const bytes = parseDockerSize(value);
        return bytes !== null && bytes >= MIN_MEMORY_BYTES ? bytes : null;
      };
      const amount = (value: unknown, isSize: boolean) =>
        isSize ? (typeof value === 'string' ? size(value) : null) : typeof value === 'number' ? value : null;
      for (const [limit, isSize] of [
        ['CPU_QUOTA', false],
        ['MEMORY', true],
        ['PIDS_LIMIT', false],
      ] as const) {
        const name = `RTMANAGER_CONTAINER_DEFAULT_${limit}` as const;
        const maxName = `RTMANAGER_CONTAINER_MAX_${limit}` as const;
        const value = amount(v[name], isSize);
        const max = amount(v[maxName], isSize);
        if (value !== null && max !== null && value > max) {
          ctx.addIssue({ code: 'custom', path: [name], message: `must not be above ${maxName} (${String(v[maxName])})` });
        }
      }
    },
    // A default above its ceiling is reported beside the other bad variables too.
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
