import { availableParallelism, homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

const AUTH = { RTMANAGER_API_TOKEN: 't'.repeat(32), RTMANAGER_ADMIN_USER: 'admin', RTMANAGER_ADMIN_PASSWORD: 'sixteen-chars-pw' };
const CREDENTIALS = Object.keys(AUTH);

function ok(env: Record<string, string>) {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

describe('config defaults (contract §2 and ours)', () => {
  it('fills every default', () => {
    expect(ok(AUTH)).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      databaseUrl: undefined,
      pgliteDir: path.resolve('var/pglite'),
      dbStatementTimeoutMs: 10000,
      http: { host: '127.0.0.1', port: 8090, bodyLimitBytes: 65536, opsPorts: { worker: 8091, intake: 8092 }, maxWaiters: 1000 },
      auth: { disabled: false, apiToken: 't'.repeat(32), adminUser: 'admin', adminPassword: 'sixteen-chars-pw' },
      adminWriteEnabled: false,
      backend: 'docker',
      swarm: { placementTimeoutMs: 30000, reserveLimits: true, pollMs: 1000 },
      docker: {
        host: 'unix:///var/run/docker.sock',
        tls: null,
        network: 'galaxy-engines',
        logDriver: 'json-file',
        logOpts: 'max-size=10m,max-file=3',
        pullPolicy: 'if_not_present',
        allowedRegistries: [],
        configPath: path.join(homedir(), '.docker', 'config.json'),
        pullFallbackToLocal: true,
        timeoutMs: 30000,
        runConcurrency: 8,
        pullTimeoutMs: 900000,
        pullInactivityMs: 120000,
      },
      container: {
        defaultCpuQuota: 1,
        defaultMemory: '512m',
        defaultPidsLimit: 256,
        maxCpuQuota: availableParallelism(),
        maxMemory: '8g',
        maxPidsLimit: 4096,
        engineStateMountPath: '/var/lib/galaxy/engine',
        engineStateEnvName: 'GALAXY_ENGINE_STATE_DIR',
        enginePort: 8080,
        gameStateRoot: path.join(process.cwd(), 'var/game-state'),
        gameStateDirMode: 0o750,
        gameStateOwnerUid: process.getuid!(),
        gameStateOwnerGid: process.getgid!(),
        stopTimeoutSeconds: 10,
        capDrop: ['ALL'],
        capAdd: [],
        readOnlyRootfs: true,
        tmpfsSizeBytes: 64 * 1024 * 1024,
        user: null,
        extraLabels: {},
      },
      engines: { startHealthTimeoutMs: 60000, maxStopTimeoutSeconds: 300, crashRestart: { max: 0, windowMs: 600000, backoffMs: 1000 } },
      window: { logStream: { bufferBytes: 1048576, maxFollowers: 100 } },
      leaseTtlMs: 60000,
      leaseWaitMs: 600000,
      streamDedupWindowMs: 86400000,
      lobbyBaseUrl: undefined,
      streams: { startJobs: 'runtime:start_jobs', healthEvents: 'runtime:health_events', notificationIntents: 'notification:intents' },
      reconcileIntervalMs: 30000,
      operationLog: { retentionDays: 90, retentionIntervalMs: 3600000 },
      logLevel: 'info',
      jobs: { attempts: 5, backoffMs: 1000, concurrency: 20, lockMs: 10000, maxStalls: 20 },
      intake: { claimIdleMs: 30000 },
      shutdownGraceMs: 25000,
      queuePrefix: 'bull',
    });
  });

  it('treats an empty value as unset', () => {
    const c = ok({ ...AUTH, RTMANAGER_HTTP_PORT: '', RTMANAGER_DATABASE_URL: '', RTMANAGER_LOG_LEVEL: '' });
    expect([c.http.port, c.databaseUrl, c.logLevel]).toEqual([8090, undefined, 'info']);
  });

  it('takes DOCKER_HOST when RTMANAGER_DOCKER_HOST is unset, and prefers the latter', () => {
    expect(ok({ ...AUTH, DOCKER_HOST: 'tcp://127.0.0.1:2375' }).docker.host).toBe('tcp://127.0.0.1:2375');
    expect(ok({ ...AUTH, DOCKER_HOST: 'tcp://a:1', RTMANAGER_DOCKER_HOST: 'unix:///run/d.sock' }).docker.host).toBe('unix:///run/d.sock');
    // Only the fallback in use is judged: someone else's DOCKER_HOST does not stop our boot.
    expect(ok({ ...AUTH, DOCKER_HOST: 'ssh://me@box', RTMANAGER_DOCKER_HOST: 'unix:///run/d.sock' }).docker.host).toBe('unix:///run/d.sock');
  });

  it('reads the Docker CLI TLS variables as the CLI does, for tcp:// hosts only', () => {
    const tcp = { ...AUTH, DOCKER_HOST: 'tcp://10.0.0.5:2376' };
    const home = path.join(homedir(), '.docker');
    expect(ok(tcp).docker.tls).toBeNull();
    // Any non-empty value turns it on, "0" included; empty is unset.
    expect(ok({ ...tcp, DOCKER_TLS_VERIFY: '0' }).docker.tls).toEqual({ verify: true, certPath: home });
    expect(ok({ ...tcp, DOCKER_TLS_VERIFY: '' }).docker.tls).toBeNull();
    // DOCKER_TLS alone: encrypted, the daemon's certificate not checked.
    expect(ok({ ...tcp, DOCKER_TLS: '1' }).docker.tls).toEqual({ verify: false, certPath: home });
    expect(ok({ ...tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: '/etc/cli' }).docker.tls).toEqual({ verify: true, certPath: '/etc/cli' });
    expect(ok({ ...tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: '/etc/cli', DOCKER_CERT_PATH: 'certs' }).docker.tls).toEqual({
      verify: true,
      certPath: path.resolve('certs'),
    });
    expect(ok({ ...AUTH, DOCKER_TLS_VERIFY: '1' }).docker.tls).toBeNull();
  });

  it('reads capability lists in any case, with or without CAP_, each once', () => {
    const c = ok({ ...AUTH, RTMANAGER_CONTAINER_CAP_DROP: ' all ', RTMANAGER_CONTAINER_CAP_ADD: 'chown,CAP_CHOWN, sys_ptrace' }).container;
    expect([c.capDrop, c.capAdd]).toEqual([['ALL'], ['CHOWN', 'SYS_PTRACE']]);
  });

  it('finds the Docker config.json as the Docker CLI does: RTMANAGER_DOCKER_CONFIG, else $DOCKER_CONFIG/config.json, else ~/.docker', () => {
    expect(ok({ ...AUTH, DOCKER_CONFIG: '/home/ops/.docker-alt' }).docker.configPath).toBe('/home/ops/.docker-alt/config.json');
    expect(ok({ ...AUTH, DOCKER_CONFIG: '/x', RTMANAGER_DOCKER_CONFIG: '/run/secrets/docker.json' }).docker.configPath).toBe('/run/secrets/docker.json');
    expect(ok({ ...AUTH, RTMANAGER_DOCKER_CONFIG: 'var/docker.json' }).docker.configPath).toBe(path.resolve('var/docker.json'));
  });

  it('reads every variable it is given', () => {
    const c = ok({
      ...AUTH,
      RTMANAGER_REDIS_URL: 'redis://r:1',
      RTMANAGER_DATABASE_URL: 'postgres://u@h:5/db',
      RTMANAGER_PGLITE_DIR: '/data/pglite',
      RTMANAGER_DB_STATEMENT_TIMEOUT_MS: '2500',
      RTMANAGER_HTTP_HOST: '0.0.0.0',
      RTMANAGER_HTTP_PORT: '9000',
      RTMANAGER_HTTP_BODY_LIMIT_BYTES: '2048',
      RTMANAGER_WORKER_OPS_PORT: '9001',
      RTMANAGER_INTAKE_OPS_PORT: '9002',
      RTMANAGER_HTTP_MAX_WAITERS: '7',
      RTMANAGER_ADMIN_WRITE_ENABLED: 'true',
      RTMANAGER_DOCKER_HOST: 'tcp://docker:2376',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_TLS: '1',
      DOCKER_CERT_PATH: '/etc/docker-client',
      DOCKER_CONFIG: '/etc/docker-cli',
      RTMANAGER_DOCKER_NETWORK: 'engines',
      RTMANAGER_RUNTIME_BACKEND: 'swarm',
      RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS: '5000',
      RTMANAGER_SWARM_RESERVE_LIMITS: 'false',
      RTMANAGER_SWARM_POLL_MS: '250',
      RTMANAGER_DOCKER_LOG_DRIVER: 'local',
      RTMANAGER_DOCKER_LOG_OPTS: 'max-size=1m',
      RTMANAGER_DOCKER_PULL_POLICY: 'never',
      RTMANAGER_ALLOWED_REGISTRIES: 'docker.io, registry.example:5000,,[::1]:5000',
      RTMANAGER_DOCKER_CONFIG: '/etc/rtmanager/docker/config.json',
      RTMANAGER_PULL_FALLBACK_TO_LOCAL: 'false',
      RTMANAGER_DOCKER_TIMEOUT_MS: '5000',
      RTMANAGER_DOCKER_RUN_CONCURRENCY: '3',
      RTMANAGER_PULL_TIMEOUT_MS: '60000',
      RTMANAGER_PULL_INACTIVITY_MS: '7000',
      RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '0.25',
      RTMANAGER_CONTAINER_DEFAULT_MEMORY: '1g',
      RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: '64',
      RTMANAGER_CONTAINER_MAX_CPU_QUOTA: '16.5',
      RTMANAGER_CONTAINER_MAX_MEMORY: '64g',
      RTMANAGER_CONTAINER_MAX_PIDS_LIMIT: '100000',
      RTMANAGER_CONTAINER_CAP_DROP: 'net_raw, CAP_MKNOD',
      RTMANAGER_CONTAINER_CAP_ADD: 'NET_BIND_SERVICE',
      RTMANAGER_CONTAINER_READ_ONLY_ROOTFS: 'false',
      RTMANAGER_CONTAINER_TMPFS_SIZE: '1.5g',
      RTMANAGER_CONTAINER_USER: '1000:1001',
      RTMANAGER_ENGINE_STATE_MOUNT_PATH: '/state',
      RTMANAGER_ENGINE_STATE_ENV_NAME: 'STATE_DIR',
      RTMANAGER_ENGINE_PORT: '9090',
      RTMANAGER_GAME_STATE_ROOT: '/srv/games',
      RTMANAGER_GAME_STATE_DIR_MODE: '0700',
      RTMANAGER_GAME_STATE_OWNER_UID: '1000',
      RTMANAGER_GAME_STATE_OWNER_GID: '1001',
      RTMANAGER_GAME_LEASE_TTL_MS: '5000',
      RTMANAGER_LEASE_WAIT_MS: '20000',
      RTMANAGER_STREAM_DEDUP_WINDOW_MS: '3600000',
      RTMANAGER_STOP_TIMEOUT_SECONDS: '3',
      RTMANAGER_START_HEALTH_TIMEOUT_MS: '7000',
      RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS: '120',
      RTMANAGER_CRASH_RESTART_MAX: '5',
      RTMANAGER_CRASH_RESTART_WINDOW_MS: '120000',
      RTMANAGER_CRASH_RESTART_BACKOFF_MS: '250',
      RTMANAGER_LOG_STREAM_BUFFER_BYTES: '65536',
      RTMANAGER_LOG_STREAM_MAX_FOLLOWERS: '7',
      RTMANAGER_CONTAINER_EXTRA_LABELS: 'com.galaxy.fleet=eu-1, team=games',
      RTMANAGER_LOBBY_BASE_URL: 'http://lobby:8080',
      RTMANAGER_START_JOBS_STREAM: 's1',
      RTMANAGER_HEALTH_EVENTS_STREAM: 's2',
      RTMANAGER_NOTIFICATION_INTENTS_STREAM: 's3',
      RTMANAGER_RECONCILE_INTERVAL_MS: '60000',
      RTMANAGER_OPERATION_LOG_RETENTION_DAYS: '7',
      RTMANAGER_OPERATION_LOG_RETENTION_INTERVAL_MS: '600000',
      RTMANAGER_LOG_LEVEL: 'debug',
      RTMANAGER_JOB_ATTEMPTS: '2',
      RTMANAGER_JOB_BACKOFF_MS: '50',
      RTMANAGER_WORKER_CONCURRENCY: '4',
      RTMANAGER_JOB_LOCK_MS: '2000',
      RTMANAGER_JOB_MAX_STALLS: '3',
      RTMANAGER_INTAKE_CLAIM_IDLE_MS: '500',
      RTMANAGER_SHUTDOWN_GRACE_MS: '0',
      RTMANAGER_QUEUE_PREFIX: 'rtm-test',
    });
    expect(c).toEqual({
      redisUrl: 'redis://r:1',
      databaseUrl: 'postgres://u@h:5/db',
      pgliteDir: '/data/pglite',
      dbStatementTimeoutMs: 2500,
      http: { host: '0.0.0.0', port: 9000, bodyLimitBytes: 2048, opsPorts: { worker: 9001, intake: 9002 }, maxWaiters: 7 },
      auth: { disabled: false, apiToken: 't'.repeat(32), adminUser: 'admin', adminPassword: 'sixteen-chars-pw' },
      adminWriteEnabled: true,
      backend: 'swarm',
      swarm: { placementTimeoutMs: 5000, reserveLimits: false, pollMs: 250 },
      docker: {
        host: 'tcp://docker:2376',
        tls: { verify: true, certPath: '/etc/docker-client' },
        network: 'engines',
        logDriver: 'local',
        logOpts: 'max-size=1m',
        pullPolicy: 'never',
        allowedRegistries: ['docker.io', 'registry.example:5000', '[::1]:5000'],
        configPath: '/etc/rtmanager/docker/config.json',
        pullFallbackToLocal: false,
        timeoutMs: 5000,
        runConcurrency: 3,
        pullTimeoutMs: 60000,
        pullInactivityMs: 7000,
      },
      container: {
        defaultCpuQuota: 0.25,
        defaultMemory: '1g',
        defaultPidsLimit: 64,
        maxCpuQuota: 16.5,
        maxMemory: '64g',
        maxPidsLimit: 100000,
        engineStateMountPath: '/state',
        engineStateEnvName: 'STATE_DIR',
        enginePort: 9090,
        gameStateRoot: '/srv/games',
        gameStateDirMode: 0o700,
        gameStateOwnerUid: 1000,
        gameStateOwnerGid: 1001,
        stopTimeoutSeconds: 3,
        capDrop: ['NET_RAW', 'MKNOD'],
        capAdd: ['NET_BIND_SERVICE'],
        readOnlyRootfs: false,
        tmpfsSizeBytes: 1.5 * 1024 ** 3,
        user: '1000:1001',
        extraLabels: { 'com.galaxy.fleet': 'eu-1', team: 'games' },
      },
      engines: { startHealthTimeoutMs: 7000, maxStopTimeoutSeconds: 120, crashRestart: { max: 5, windowMs: 120000, backoffMs: 250 } },
      window: { logStream: { bufferBytes: 65536, maxFollowers: 7 } },
      leaseTtlMs: 5000,
      leaseWaitMs: 20000,
      streamDedupWindowMs: 3600000,
      lobbyBaseUrl: 'http://lobby:8080',
      streams: { startJobs: 's1', healthEvents: 's2', notificationIntents: 's3' },
      reconcileIntervalMs: 60000,
      operationLog: { retentionDays: 7, retentionIntervalMs: 600000 },
      logLevel: 'debug',
      jobs: { attempts: 2, backoffMs: 50, concurrency: 4, lockMs: 2000, maxStalls: 3 },
      intake: { claimIdleMs: 500 },
      shutdownGraceMs: 0,
      queuePrefix: 'rtm-test',
    });
  });

  it('needs no credentials when auth is disabled', () => {
    expect(ok({ RTMANAGER_AUTH_DISABLED: 'true' }).auth).toEqual({ disabled: true, apiToken: '', adminUser: '', adminPassword: '' });
  });
});

/** One bad value per variable, and the exact line it must produce. */
const INVALID: Array<[string, string, string]> = [
  ['RTMANAGER_REDIS_URL', 'http://x', 'must be a redis or rediss URL (got "http://x")'],
  ['RTMANAGER_REDIS_URL', 'not a url', 'must be a redis or rediss URL (got "not a url")'],
  ['RTMANAGER_DATABASE_URL', 'mysql://x', 'must be a postgres or postgresql URL (got "mysql://x")'],
  ['RTMANAGER_DATABASE_URL', 'mysql://app:hunter2@db/x', 'must be a postgres or postgresql URL (got "mysql://app:***@db/x")'],
  ['RTMANAGER_PGLITE_DIR', '  ', 'must not be blank (got "  ")'],
  ['RTMANAGER_HTTP_HOST', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_HTTP_PORT', 'abc', 'must be an integer between 1 and 65535 (got "abc")'],
  ['RTMANAGER_HTTP_PORT', '70000', 'must be an integer between 1 and 65535 (got "70000")'],
  ['RTMANAGER_HTTP_PORT', '0', 'must be an integer between 1 and 65535 (got "0")'],
  ['RTMANAGER_WORKER_OPS_PORT', '0', 'must be an integer between 1 and 65535 (got "0")'],
  ['RTMANAGER_INTAKE_OPS_PORT', '65536', 'must be an integer between 1 and 65535 (got "65536")'],
  ['RTMANAGER_HTTP_BODY_LIMIT_BYTES', '10', 'must be an integer between 1024 and 16777216 (got "10")'],
  ['RTMANAGER_HTTP_MAX_WAITERS', '0', 'must be an integer between 1 and 1000000 (got "0")'],
  ['RTMANAGER_AUTH_DISABLED', 'yes', 'must be "true" or "false" (got "yes")'],
  ['RTMANAGER_ADMIN_WRITE_ENABLED', '1', 'must be "true" or "false" (got "1")'],
  ['RTMANAGER_DOCKER_HOST', 'ssh://x', 'must be unix:///path or tcp://host:port (got "ssh://x")'],
  [
    'RTMANAGER_DOCKER_HOST',
    'npipe:////./pipe/docker_engine',
    'must be unix:///path or tcp://host:port; npipe:// is Windows-only (got "npipe:////./pipe/docker_engine")',
  ],
  ['DOCKER_HOST', 'npipe:////./pipe/docker_engine', 'must be unix:///path or tcp://host:port; npipe:// is Windows-only (got "npipe:////./pipe/docker_engine")'],
  ['DOCKER_CERT_PATH', ' ', 'must not be blank (got " ")'],
  ['DOCKER_CONFIG', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_DOCKER_NETWORK', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_RUNTIME_BACKEND', 'kubernetes', 'must be docker or swarm (got "kubernetes")'],
  ['RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS', '0', 'must be an integer between 1 and 86400000 (got "0")'],
  ['RTMANAGER_SWARM_RESERVE_LIMITS', 'yes', 'must be "true" or "false" (got "yes")'],
  ['RTMANAGER_SWARM_POLL_MS', '50', 'must be an integer between 100 and 60000 (got "50")'],
  ['RTMANAGER_DOCKER_LOG_DRIVER', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_DOCKER_LOG_OPTS', 'max-size', 'must be k=v pairs separated by commas (got "max-size")'],
  ['RTMANAGER_DOCKER_LOG_OPTS', 'max-size=1m,,x=1', 'must be k=v pairs separated by commas (got "max-size=1m,,x=1")'],
  ['RTMANAGER_DOCKER_PULL_POLICY', 'sometimes', 'must be always, if_not_present or never (got "sometimes")'],
  ['RTMANAGER_DOCKER_CONFIG', ' ', 'must not be blank (got " ")'],
  ['DOCKER_CONFIG', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_PULL_FALLBACK_TO_LOCAL', 'yes', 'must be "true" or "false" (got "yes")'],
  ['RTMANAGER_DB_STATEMENT_TIMEOUT_MS', '0', 'must be an integer between 100 and 86400000 (got "0")'],
  ['RTMANAGER_DB_STATEMENT_TIMEOUT_MS', '99', 'must be an integer between 100 and 86400000 (got "99")'],
  ['RTMANAGER_DB_STATEMENT_TIMEOUT_MS', '10s', 'must be an integer between 100 and 86400000 (got "10s")'],
  ['RTMANAGER_DOCKER_TIMEOUT_MS', '0', 'must be an integer between 1 and 86400000 (got "0")'],
  ['RTMANAGER_DOCKER_TIMEOUT_MS', '30s', 'must be an integer between 1 and 86400000 (got "30s")'],
  ['RTMANAGER_DOCKER_RUN_CONCURRENCY', '0', 'must be an integer between 1 and 1000 (got "0")'],
  ['RTMANAGER_PULL_TIMEOUT_MS', '-1', 'must be an integer between 1 and 86400000 (got "-1")'],
  ['RTMANAGER_PULL_INACTIVITY_MS', '1.5', 'must be an integer between 1 and 86400000 (got "1.5")'],
  ['RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA', '0', 'must be a positive decimal number (got "0")'],
  ['RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA', 'one', 'must be a positive decimal number (got "one")'],
  ['RTMANAGER_CONTAINER_DEFAULT_MEMORY', 'lots', 'must be a Docker size such as 512m or 1g (got "lots")'],
  ['RTMANAGER_CONTAINER_DEFAULT_MEMORY', '0m', 'must be a Docker size such as 512m or 1g (got "0m")'],
  // Contract §14: less is no limit to Docker, or an engine that cannot start.
  ['RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA', '0.0099', 'must be at least 0.01: Docker cannot limit an engine to less CPU (got "0.0099")'],
  ['RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA', '0.0000000001', 'must be at least 0.01: Docker cannot limit an engine to less CPU (got "0.0000000001")'],
  ['RTMANAGER_CONTAINER_DEFAULT_MEMORY', '6291455', 'must be at least 6m, Docker\'s smallest memory limit (got "6291455")'],
  ['RTMANAGER_CONTAINER_DEFAULT_MEMORY', '5m', 'must be at least 6m, Docker\'s smallest memory limit (got "5m")'],
  ['RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT', '0', 'must be an integer between 1 and 4194304 (got "0")'],
  ['RTMANAGER_CONTAINER_MAX_CPU_QUOTA', '0.001', 'must be at least 0.01: Docker cannot limit an engine to less CPU (got "0.001")'],
  ['RTMANAGER_CONTAINER_MAX_MEMORY', '1m', 'must be at least 6m, Docker\'s smallest memory limit (got "1m")'],
  ['RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT', '-1', 'must be an integer between 1 and 4194304 (got "-1")'],
  ['RTMANAGER_CONTAINER_MAX_CPU_QUOTA', '-2', 'must be a positive decimal number (got "-2")'],
  ['RTMANAGER_CONTAINER_MAX_MEMORY', 'lots', 'must be a Docker size such as 512m or 1g (got "lots")'],
  ['RTMANAGER_CONTAINER_MAX_PIDS_LIMIT', '0', 'must be an integer between 1 and 4194304 (got "0")'],
  ['RTMANAGER_ALLOWED_REGISTRIES', 'docker.io,http://x.io', 'must be registry hosts such as docker.io or registry.example:5000 (got "http://x.io")'],
  ['RTMANAGER_ALLOWED_REGISTRIES', 'host:port', 'must be registry hosts such as docker.io or registry.example:5000 (got "host:port")'],
  ['RTMANAGER_CONTAINER_CAP_DROP', 'NET_RAWW', 'must be ALL or Linux capability names (such as NET_BIND_SERVICE) separated by commas (got "NET_RAWW")'],
  ['RTMANAGER_CONTAINER_CAP_ADD', 'CHOWN,,KILL', 'must be ALL or Linux capability names (such as NET_BIND_SERVICE) separated by commas (got "CHOWN,,KILL")'],
  ['RTMANAGER_CONTAINER_READ_ONLY_ROOTFS', 'yes', 'must be "true" or "false" (got "yes")'],
  ['RTMANAGER_CONTAINER_TMPFS_SIZE', '64 megs', 'must be a Docker size such as 512m or 1g (got "64 megs")'],
  ['RTMANAGER_CONTAINER_USER', 'nobody', 'must be uid:gid, two numbers such as 65534:65534 (got "nobody")'],
  ['RTMANAGER_CONTAINER_USER', '1000', 'must be uid:gid, two numbers such as 65534:65534 (got "1000")'],
  ['RTMANAGER_CONTAINER_USER', '1000:4294967295', 'must be uid:gid, two numbers such as 65534:65534 (got "1000:4294967295")'],
  ['RTMANAGER_ENGINE_STATE_MOUNT_PATH', 'relative/path', 'must be an absolute path (got "relative/path")'],
  ['RTMANAGER_ENGINE_STATE_ENV_NAME', '1BAD', 'must be an environment variable name (got "1BAD")'],
  ['RTMANAGER_ENGINE_PORT', '65536', 'must be an integer between 1 and 65535 (got "65536")'],
  ['RTMANAGER_GAME_STATE_ROOT', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_GAME_STATE_DIR_MODE', '999', 'must be an octal file mode such as 0750 (got "999")'],
  ['RTMANAGER_GAME_STATE_DIR_MODE', 'rwx', 'must be an octal file mode such as 0750 (got "rwx")'],
  ['RTMANAGER_GAME_STATE_OWNER_UID', 'root', 'must be an integer between 0 and 4294967294 (got "root")'],
  ['RTMANAGER_GAME_STATE_OWNER_GID', '-5', 'must be an integer between 0 and 4294967294 (got "-5")'],
  ['RTMANAGER_GAME_LEASE_TTL_MS', '10', 'must be an integer between 1000 and 3600000 (got "10")'],
  ['RTMANAGER_LEASE_WAIT_MS', '86400001', 'must be an integer between 1 and 86400000 (got "86400001")'],
  ['RTMANAGER_STREAM_DEDUP_WINDOW_MS', '999', 'must be an integer between 1000 and 31536000000 (got "999")'],
  ['RTMANAGER_STOP_TIMEOUT_SECONDS', '601', 'must be an integer between 0 and 600 (got "601")'],
  ['RTMANAGER_START_HEALTH_TIMEOUT_MS', '99', 'must be an integer between 100 and 3600000 (got "99")'],
  ['RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS', '0', 'must be an integer between 1 and 3600 (got "0")'],
  ['RTMANAGER_CRASH_RESTART_MAX', '-1', 'must be an integer between 0 and 1000 (got "-1")'],
  ['RTMANAGER_CRASH_RESTART_WINDOW_MS', '999', 'must be an integer between 1000 and 604800000 (got "999")'],
  ['RTMANAGER_CRASH_RESTART_BACKOFF_MS', 'soon', 'must be an integer between 0 and 3600000 (got "soon")'],
  ['RTMANAGER_LOG_STREAM_BUFFER_BYTES', '1k', 'must be an integer between 16384 and 268435456 (got "1k")'],
  ['RTMANAGER_LOG_STREAM_MAX_FOLLOWERS', '0', 'must be an integer between 1 and 100000 (got "0")'],
  ['RTMANAGER_LOBBY_BASE_URL', 'lobby', 'must be a http or https URL (got "lobby")'],
  ['RTMANAGER_START_JOBS_STREAM', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_HEALTH_EVENTS_STREAM', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_NOTIFICATION_INTENTS_STREAM', ' ', 'must not be blank (got " ")'],
  ['RTMANAGER_RECONCILE_INTERVAL_MS', '1.5', 'must be an integer between 1000 and 86400000 (got "1.5")'],
  ['RTMANAGER_OPERATION_LOG_RETENTION_DAYS', '0', 'must be an integer between 1 and 36500 (got "0")'],
  ['RTMANAGER_OPERATION_LOG_RETENTION_DAYS', '90d', 'must be an integer between 1 and 36500 (got "90d")'],
  ['RTMANAGER_OPERATION_LOG_RETENTION_INTERVAL_MS', '999', 'must be an integer between 1000 and 86400000 (got "999")'],
  ['RTMANAGER_LOG_LEVEL', 'loud', 'must be a pino level (fatal, error, warn, info, debug, trace, silent) (got "loud")'],
  ['RTMANAGER_JOB_ATTEMPTS', '0', 'must be an integer between 1 and 100 (got "0")'],
  ['RTMANAGER_JOB_BACKOFF_MS', '1', 'must be an integer between 10 and 600000 (got "1")'],
  ['RTMANAGER_WORKER_CONCURRENCY', '1001', 'must be an integer between 1 and 1000 (got "1001")'],
  ['RTMANAGER_CONTAINER_EXTRA_LABELS', 'fleet', 'must be k=v pairs separated by commas (got "fleet")'],
  ['RTMANAGER_JOB_LOCK_MS', '999', 'must be an integer between 1000 and 600000 (got "999")'],
  ['RTMANAGER_JOB_MAX_STALLS', '0', 'must be an integer between 1 and 1000 (got "0")'],
  ['RTMANAGER_INTAKE_CLAIM_IDLE_MS', '99', 'must be an integer between 100 and 3600000 (got "99")'],
  ['RTMANAGER_SHUTDOWN_GRACE_MS', 'soon', 'must be an integer between 0 and 600000 (got "soon")'],
  ['RTMANAGER_QUEUE_PREFIX', 'bull:x', 'must be letters, digits, - or _ (got "bull:x")'],
];

describe('config errors: one line per bad variable, naming it and why', () => {
  it.each(INVALID)('%s=%j', (name, value, why) => {
    expect(loadConfig({ ...AUTH, [name]: value })).toEqual({ ok: false, errors: [`${name}: ${why}`] });
  });

  it('has a bad-value case for every variable (credentials: their own cases below)', () => {
    // The Docker CLI takes any non-empty DOCKER_TLS / DOCKER_TLS_VERIFY as "on": there is no bad value to refuse.
    const covered = new Set([...INVALID.map(([name]) => name), ...CREDENTIALS, 'DOCKER_TLS', 'DOCKER_TLS_VERIFY']);
    expect([...CONFIG_VARIABLES].filter((name) => !covered.has(name))).toEqual([]);
  });

  it('requires every credential unless auth is disabled', () => {
    expect(loadConfig({})).toEqual({
      ok: false,
      errors: [
        'RTMANAGER_API_TOKEN: required unless RTMANAGER_AUTH_DISABLED=true',
        'RTMANAGER_ADMIN_USER: required unless RTMANAGER_AUTH_DISABLED=true',
        'RTMANAGER_ADMIN_PASSWORD: required unless RTMANAGER_AUTH_DISABLED=true',
      ],
    });
    expect(loadConfig({ ...AUTH, RTMANAGER_ADMIN_PASSWORD: '   ' })).toEqual({
      ok: false,
      errors: ['RTMANAGER_ADMIN_PASSWORD: required unless RTMANAGER_AUTH_DISABLED=true'],
    });
    expect(loadConfig({ ...AUTH, RTMANAGER_AUTH_DISABLED: 'false' }).ok).toBe(true);
  });

  it.each([
    [
      { RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '2.5', RTMANAGER_CONTAINER_MAX_CPU_QUOTA: '2' },
      'RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: must not be above RTMANAGER_CONTAINER_MAX_CPU_QUOTA (2)',
    ],
    [{ RTMANAGER_CONTAINER_DEFAULT_MEMORY: '16g' }, 'RTMANAGER_CONTAINER_DEFAULT_MEMORY: must not be above RTMANAGER_CONTAINER_MAX_MEMORY (8g)'],
    [{ RTMANAGER_CONTAINER_MAX_MEMORY: '256m' }, 'RTMANAGER_CONTAINER_DEFAULT_MEMORY: must not be above RTMANAGER_CONTAINER_MAX_MEMORY (256m)'],
    [{ RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: '5000' }, 'RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: must not be above RTMANAGER_CONTAINER_MAX_PIDS_LIMIT (4096)'],
    [
      { RTMANAGER_STOP_TIMEOUT_SECONDS: '31', RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS: '30' },
      'RTMANAGER_STOP_TIMEOUT_SECONDS: must not be above RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS (30)',
    ],
  ])('refuses a default above its ceiling: %j', (env, line) => {
    expect(loadConfig({ ...AUTH, ...env })).toEqual({ ok: false, errors: [line] });
  });

  it('reads contract §15: defaults, and each variable given', () => {
    expect(ok({ ...AUTH }).engines).toEqual({
      startHealthTimeoutMs: 60_000,
      maxStopTimeoutSeconds: 300,
      crashRestart: { max: 0, windowMs: 600_000, backoffMs: 1_000 },
    });
    const given = {
      RTMANAGER_START_HEALTH_TIMEOUT_MS: '5000',
      RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS: '10',
      RTMANAGER_STOP_TIMEOUT_SECONDS: '10',
      RTMANAGER_CRASH_RESTART_MAX: '3',
      RTMANAGER_CRASH_RESTART_WINDOW_MS: '60000',
      RTMANAGER_CRASH_RESTART_BACKOFF_MS: '0',
    };
    expect(ok({ ...AUTH, ...given }).engines).toEqual({
      startHealthTimeoutMs: 5_000,
      maxStopTimeoutSeconds: 10,
      crashRestart: { max: 3, windowMs: 60_000, backoffMs: 0 },
    });
    expect(loadConfig({ ...AUTH, RTMANAGER_CRASH_RESTART_MAX: '-1' }).ok).toBe(false);
  });

  it('takes defaults equal to their ceilings, and judges a ceiling only when both sides parse', () => {
    const equal = {
      RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '2',
      RTMANAGER_CONTAINER_MAX_CPU_QUOTA: '2',
      RTMANAGER_CONTAINER_DEFAULT_MEMORY: '1g',
      RTMANAGER_CONTAINER_MAX_MEMORY: '1024m',
    };
    expect(ok({ ...AUTH, ...equal }).container).toMatchObject({ defaultCpuQuota: 2, maxCpuQuota: 2, defaultMemory: '1g', maxMemory: '1024m' });
    expect(loadConfig({ ...AUTH, RTMANAGER_CONTAINER_DEFAULT_MEMORY: '16g', RTMANAGER_CONTAINER_MAX_MEMORY: 'lots' })).toEqual({
      ok: false,
      errors: ['RTMANAGER_CONTAINER_MAX_MEMORY: must be a Docker size such as 512m or 1g (got "lots")'],
    });
  });

  it('takes the least limits Docker applies as defaults (contract §14): 0.01 CPU, 6m, 1 process', () => {
    const least = {
      RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '0.01',
      RTMANAGER_CONTAINER_DEFAULT_MEMORY: '6m',
      RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: '1',
      RTMANAGER_CONTAINER_MAX_CPU_QUOTA: '0.01',
      RTMANAGER_CONTAINER_MAX_MEMORY: '6291456',
      RTMANAGER_CONTAINER_MAX_PIDS_LIMIT: '1',
    };
    expect(ok({ ...AUTH, ...least }).container).toMatchObject({
      defaultCpuQuota: 0.01,
      defaultMemory: '6m',
      defaultPidsLimit: 1,
      maxCpuQuota: 0.01,
      maxMemory: '6291456',
      maxPidsLimit: 1,
    });
  });

  it('defaults the CPU ceiling to the host CPU count, and lets the default CPU quota reach it', () => {
    expect(ok(AUTH).container.maxCpuQuota).toBe(availableParallelism());
    expect(ok({ ...AUTH, RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: String(availableParallelism()) }).container.defaultCpuQuota).toBe(availableParallelism());
    expect(loadConfig({ ...AUTH, RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: String(availableParallelism() + 0.5) }).ok).toBe(false);
  });

  it('refuses a short API token or admin password without echoing it (contract §12: 16 characters at least)', () => {
    expect(loadConfig({ ...AUTH, RTMANAGER_API_TOKEN: 'short' })).toEqual({ ok: false, errors: ['RTMANAGER_API_TOKEN: must be at least 16 characters'] });
    expect(loadConfig({ ...AUTH, RTMANAGER_ADMIN_PASSWORD: 'fifteen-chars-x' })).toEqual({
      ok: false,
      errors: ['RTMANAGER_ADMIN_PASSWORD: must be at least 16 characters'],
    });
    expect(loadConfig({ ...AUTH, RTMANAGER_API_TOKEN: 'x'.repeat(15), RTMANAGER_ADMIN_PASSWORD: 'secret' })).toEqual({
      ok: false,
      errors: ['RTMANAGER_API_TOKEN: must be at least 16 characters', 'RTMANAGER_ADMIN_PASSWORD: must be at least 16 characters'],
    });
    expect(loadConfig({ ...AUTH, RTMANAGER_API_TOKEN: 'x'.repeat(16), RTMANAGER_ADMIN_PASSWORD: 'y'.repeat(16) }).ok).toBe(true);
  });

  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST'])('allows auth disabled on the loopback host %s', (host) => {
    expect(ok({ RTMANAGER_AUTH_DISABLED: 'true', RTMANAGER_HTTP_HOST: host }).auth.disabled).toBe(true);
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.10', 'rtmanager.internal', '128.0.0.1', '::ffff:127.0.0.1'])(
    'refuses auth disabled on the non-loopback host %s, naming both variables',
    (host) => {
      expect(loadConfig({ RTMANAGER_AUTH_DISABLED: 'true', RTMANAGER_HTTP_HOST: host })).toEqual({
        ok: false,
        errors: [
          `RTMANAGER_AUTH_DISABLED: must not be true while RTMANAGER_HTTP_HOST is not a loopback address (127.0.0.0/8, ::1, localhost) (got ${JSON.stringify(host)}): the API and the dashboard would be open to the network`,
        ],
      });
      // With auth on, any host will do.
      expect(ok({ ...AUTH, RTMANAGER_HTTP_HOST: host }).http.host).toBe(host);
    },
  );

  it('reports every bad variable at once', () => {
    const result = loadConfig({ RTMANAGER_HTTP_PORT: 'x', RTMANAGER_LOG_LEVEL: 'y' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.split(':')[0])).toEqual([
        'RTMANAGER_HTTP_PORT',
        'RTMANAGER_LOG_LEVEL',
        'RTMANAGER_API_TOKEN',
        'RTMANAGER_ADMIN_USER',
        'RTMANAGER_ADMIN_PASSWORD',
      ]);
    }
  });

  it('reports the credentials beside a bad RTMANAGER_AUTH_DISABLED (only "true" disables them)', () => {
    expect(loadConfig({ RTMANAGER_AUTH_DISABLED: 'True' })).toEqual({
      ok: false,
      errors: [
        'RTMANAGER_AUTH_DISABLED: must be "true" or "false" (got "True")',
        'RTMANAGER_API_TOKEN: required unless RTMANAGER_AUTH_DISABLED=true',
        'RTMANAGER_ADMIN_USER: required unless RTMANAGER_AUTH_DISABLED=true',
        'RTMANAGER_ADMIN_PASSWORD: required unless RTMANAGER_AUTH_DISABLED=true',
      ],
    });
  });

  it('exits 1 from a real boot when auth is disabled on a non-loopback host', { timeout: 30_000 }, async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync('npx', ['tsx', 'src/main.ts', 'web'], {
      env: { PATH: process.env.PATH, RTMANAGER_AUTH_DISABLED: 'true', RTMANAGER_HTTP_HOST: '0.0.0.0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('RTMANAGER_AUTH_DISABLED: must not be true while RTMANAGER_HTTP_HOST is not a loopback address');
  });

  it('exits 1 from a real boot with one line per variable', { timeout: 30_000 }, async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync('npx', ['tsx', 'src/main.ts', 'web'], {
      env: {
        PATH: process.env.PATH,
        RTMANAGER_HTTP_PORT: 'nope',
        RTMANAGER_DOCKER_PULL_POLICY: 'often',
        // Contract §14: a default limit that Docker would read as no limit stops boot too.
        RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '0.0000000001',
        RTMANAGER_AUTH_DISABLED: 'true',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.split('\n').filter((line) => line.includes('RTMANAGER_'));
    expect(lines.map((line) => line.trim())).toEqual([
      'RTMANAGER_HTTP_PORT: must be an integer between 1 and 65535 (got "nope")',
      'RTMANAGER_DOCKER_PULL_POLICY: must be always, if_not_present or never (got "often")',
      'RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: must be at least 0.01: Docker cannot limit an engine to less CPU (got "0.0000000001")',
    ]);
  });
});
