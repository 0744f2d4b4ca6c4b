import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const AUTH = { RTMANAGER_API_TOKEN: 't'.repeat(32), RTMANAGER_ADMIN_USER: 'admin', RTMANAGER_ADMIN_PASSWORD: 'secret' };

function ok(env: Record<string, string>) {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

describe('config defaults (contract §2)', () => {
  it('fills every default', () => {
    const c = ok(AUTH);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8090, bodyLimitBytes: 65536 });
    expect(c.docker).toEqual({ host: 'unix:///var/run/docker.sock', network: 'galaxy-engines', logDriver: 'json-file', logOpts: 'max-size=10m,max-file=3', pullPolicy: 'if_not_present' });
    expect(c.container).toMatchObject({
      defaultCpuQuota: 1,
      defaultMemory: '512m',
      defaultPidsLimit: 256,
      engineStateMountPath: '/var/lib/galaxy/engine',
      engineStateEnvName: 'GALAXY_ENGINE_STATE_DIR',
      enginePort: 8080,
      gameStateDirMode: 0o750,
      gameStateOwnerUid: process.getuid!(),
      gameStateOwnerGid: process.getgid!(),
    });
    expect(c.container.gameStateRoot).toBe(`${process.cwd()}/var/game-state`);
    expect(c.leaseTtlMs).toBe(60000);
    expect(c.lobbyBaseUrl).toBeUndefined();
    expect(c.streams).toEqual({ startJobs: 'runtime:start_jobs', healthEvents: 'runtime:health_events', notificationIntents: 'notification:intents' });
    expect(c.reconcileIntervalMs).toBe(30000);
    expect(c.logLevel).toBe('info');
  });

  it('takes DOCKER_HOST when RTMANAGER_DOCKER_HOST is unset, and prefers the latter', () => {
    expect(ok({ ...AUTH, DOCKER_HOST: 'tcp://127.0.0.1:2375' }).docker.host).toBe('tcp://127.0.0.1:2375');
    expect(ok({ ...AUTH, DOCKER_HOST: 'tcp://a:1', RTMANAGER_DOCKER_HOST: 'unix:///run/d.sock' }).docker.host).toBe('unix:///run/d.sock');
  });

  it('reads every variable it is given', () => {
    const c = ok({
      ...AUTH,
      RTMANAGER_REDIS_URL: 'redis://r:1',
      RTMANAGER_DATABASE_URL: 'postgres://u@h:5/db',
      RTMANAGER_HTTP_PORT: '9000',
      RTMANAGER_DOCKER_PULL_POLICY: 'never',
      RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '0.25',
      RTMANAGER_CONTAINER_DEFAULT_MEMORY: '1g',
      RTMANAGER_GAME_STATE_DIR_MODE: '0700',
      RTMANAGER_GAME_STATE_OWNER_UID: '1000',
      RTMANAGER_LOBBY_BASE_URL: 'http://lobby:8080',
      RTMANAGER_LOG_LEVEL: 'debug',
    });
    expect([c.redisUrl, c.databaseUrl, c.http.port, c.docker.pullPolicy, c.container.defaultCpuQuota, c.container.defaultMemory, c.container.gameStateDirMode, c.container.gameStateOwnerUid, c.lobbyBaseUrl, c.logLevel]).toEqual([
      'redis://r:1', 'postgres://u@h:5/db', 9000, 'never', 0.25, '1g', 0o700, 1000, 'http://lobby:8080', 'debug',
    ]);
  });

  it('needs no credentials when auth is disabled', () => {
    expect(ok({ RTMANAGER_AUTH_DISABLED: 'true' }).auth.disabled).toBe(true);
  });
});

describe('config errors: one line per bad variable, naming it and why', () => {
  it.each([
    ['RTMANAGER_REDIS_URL', 'http://x', 'must be a redis or rediss URL (got "http://x")'],
    ['RTMANAGER_DATABASE_URL', 'mysql://x', 'must be a postgres or postgresql URL'],
    ['RTMANAGER_HTTP_PORT', 'abc', 'must be an integer between 1 and 65535 (got "abc")'],
    ['RTMANAGER_HTTP_PORT', '70000', 'must be an integer between 1 and 65535'],
    ['RTMANAGER_DOCKER_PULL_POLICY', 'sometimes', 'must be always, if_not_present or never'],
    ['RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA', '0', 'must be a positive decimal number'],
    ['RTMANAGER_CONTAINER_DEFAULT_MEMORY', 'lots', 'must be a Docker size'],
    ['RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT', '-1', 'must be an integer'],
    ['RTMANAGER_DOCKER_LOG_OPTS', 'max-size', 'must be k=v pairs'],
    ['RTMANAGER_GAME_STATE_DIR_MODE', '999', 'must be an octal file mode'],
    ['RTMANAGER_ENGINE_STATE_MOUNT_PATH', 'relative/path', 'must be an absolute path'],
    ['RTMANAGER_ENGINE_STATE_ENV_NAME', '1BAD', 'must be an environment variable name'],
    ['RTMANAGER_DOCKER_HOST', 'ssh://x', 'must be unix:///path or tcp://host:port'],
    ['RTMANAGER_LOBBY_BASE_URL', 'lobby', 'must be a http or https URL'],
    ['RTMANAGER_LOG_LEVEL', 'loud', 'must be a pino level'],
    ['RTMANAGER_AUTH_DISABLED', 'yes', 'must be "true" or "false"'],
    ['RTMANAGER_GAME_LEASE_TTL_MS', '10', 'must be an integer between 1000'],
  ])('%s=%j', (name, value, why) => {
    const result = loadConfig({ ...AUTH, [name]: value });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toBe(`${name}: ${result.errors[0]!.slice(name.length + 2)}`);
      expect(result.errors[0]).toContain(why);
    }
  });

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

  it('refuses a short API token', () => {
    const result = loadConfig({ ...AUTH, RTMANAGER_API_TOKEN: 'short' });
    expect(result).toEqual({ ok: false, errors: ['RTMANAGER_API_TOKEN: must be at least 16 characters'] });
  });

  it('exits 1 from a real boot with one line per variable', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync('npx', ['tsx', 'src/main.ts', 'web'], {
      env: { PATH: process.env.PATH, RTMANAGER_HTTP_PORT: 'nope', RTMANAGER_AUTH_DISABLED: 'true' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('RTMANAGER_HTTP_PORT: must be an integer between 1 and 65535 (got "nope")');
  });
});
