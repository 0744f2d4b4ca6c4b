/**
 * The production path with no devDependencies: what `npm ci --omit=dev`
 * installs (the lock's non-dev packages, hard-linked from node_modules so no
 * registry is needed), the compiled build, the migrations and the Procfile.
 * `npm run db:migrate` and a role boot from that tree alone against real
 * Redis and Postgres: nothing at run time needs tsx or another dev tool.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/db.js';
import { createTestDatabase } from '../support/db.js';
import { freePort } from '../faults/support.js';
import { testLabelsEnv, testRedisUrl } from '../support/services.js';

const run = promisify(execFile);
const PREFIX = `prod${process.pid}`;
const repoRoot = path.resolve(import.meta.dirname, '../..');

interface Lock {
  packages: Record<string, { dev?: boolean }>;
}
const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as Lock;
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The lock's packages a production install gets (optional ones only where this platform installed them). */
const productionPackages = Object.entries(lock.packages)
  .filter(([key, entry]) => key !== '' && entry.dev !== true)
  .map(([key]) => key)
  .filter((key) => existsSync(path.join(repoRoot, key)));

let tree: string;
let database: TestDatabase;

beforeAll(async () => {
  tree = await mkdtemp(path.join(os.tmpdir(), 'rtm-prod-'));
  for (const key of productionPackages) {
    const from = path.join(repoRoot, key);
    const to = path.join(tree, key);
    await mkdir(to, { recursive: true });
    // A package's own files; its nested node_modules are entries of their own in the lock.
    const files = readdirSync(from).filter((name) => name !== 'node_modules');
    if (files.length) execFileSync('cp', ['-al', ...files.map((name) => path.join(from, name)), to]);
  }
  for (const name of ['dist', 'drizzle', 'package.json', 'Procfile']) await cp(path.join(repoRoot, name), path.join(tree, name), { recursive: true });
  database = await createTestDatabase({ migrate: false });
}, 120_000);

afterAll(async () => {
  const redis = new Redis(testRedisUrl());
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await database?.close();
  if (tree) await rm(tree, { recursive: true, force: true });
});

describe('a production install (no devDependencies)', () => {
  it('holds no tsx: a dev tool (scripts, tests, the bench), not a dependency', () => {
    expect(productionPackages).toContain('node_modules/hono');
    expect(Object.keys(manifest.devDependencies)).toContain('tsx');
    expect(productionPackages.filter((key) => /(^|\/)node_modules\/tsx$/.test(key))).toEqual([]);
    expect(existsSync(path.join(tree, 'node_modules/tsx'))).toBe(false);
  });

  it('migrates with `npm run db:migrate` and boots the Procfile web role from the build alone', { timeout: 90_000 }, async () => {
    const env = {
      PATH: process.env.PATH,
      RTMANAGER_DATABASE_URL: database.url,
      RTMANAGER_REDIS_URL: testRedisUrl(),
      RTMANAGER_API_TOKEN: 'production-install-token',
      RTMANAGER_ADMIN_USER: 'operator',
      RTMANAGER_ADMIN_PASSWORD: 'production-install-pw',
      RTMANAGER_QUEUE_PREFIX: PREFIX,
      RTMANAGER_LOG_LEVEL: 'warn',
      RTMANAGER_CONTAINER_EXTRA_LABELS: testLabelsEnv(),
    };
    // The script as package.json says it, run by node itself (what `npm run` would spawn).
    const [command, ...args] = manifest.scripts['db:migrate']!.split(' ');
    expect(command).toBe('node');
    const migrated = await run(process.execPath, args, { cwd: tree, env });
    expect(migrated.stdout).toMatch(/migrations applied \(postgres/);

    const procfile = readFileSync(path.join(tree, 'Procfile'), 'utf8');
    const web = /^web: node (.+)$/m.exec(procfile)?.[1]?.split(' ');
    // node's own flags (the heap's bounds), then the build's entry and the role: run as the Procfile says, flags included.
    expect(web!.slice(-2)).toEqual(['dist/main.js', 'web']);
    expect(web!.slice(0, -2).every((arg) => /^--[a-z-]+=\d+$/.test(arg))).toBe(true);
    const port = await freePort();
    const child = spawn(process.execPath, web!, { cwd: tree, env: { ...env, RTMANAGER_HTTP_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      await expect
        .poll(
          () =>
            fetch(`${base}/readyz`).then(
              (r) => r.status,
              () => 0,
            ),
          { timeout: 30_000, interval: 200 },
        )
        .toBe(200);
      expect((await fetch(`${base}/admin/queues`, { headers: { authorization: `Basic ${btoa('operator:production-install-pw')}` } })).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
