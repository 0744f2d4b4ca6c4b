/**
 * The web process as an operator meets it: Bull Board behind basic auth,
 * rendered by a real headless Chromium (the screenshot is kept in
 * test-artifacts/), and a SIGTERM that ends the process cleanly with exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/db.js';
import { createTestDatabase } from '../support/db.js';
import { testLabelsEnv, testRedisUrl } from '../support/services.js';

const CHROMIUM = '/usr/bin/chromium';
let database: TestDatabase;
let web: ChildProcess;
let base: string;
let output = '';
const auth = { user: 'operator', password: 'dashboard-password' };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const prefix = `dash${process.pid}`;
  web = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'web'], {
    env: {
      PATH: process.env.PATH,
      RTMANAGER_DATABASE_URL: database.url,
      RTMANAGER_REDIS_URL: testRedisUrl(),
      RTMANAGER_HTTP_PORT: String(port),
      RTMANAGER_QUEUE_PREFIX: prefix,
      RTMANAGER_API_TOKEN: 'dashboard-test-token-0123456789',
      RTMANAGER_ADMIN_USER: auth.user,
      RTMANAGER_ADMIN_PASSWORD: auth.password,
      RTMANAGER_LOG_LEVEL: 'warn',
      RTMANAGER_CONTAINER_EXTRA_LABELS: testLabelsEnv(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  web.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  web.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`web did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  if (web.exitCode === null && web.signalCode === null) web.kill('SIGKILL');
  await database.close();
});

const basic = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;

describe('Bull Board and the web process', () => {
  it('answers 200 with credentials and 401 without, page and API alike', async () => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);
      expect((await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from('operator:wrong').toString('base64')}` } })).status, path).toBe(
        401,
      );
      expect((await fetch(`${base}${path}`, { headers: { authorization: basic } })).status, path).toBe(200);
    }
    const api = (await (await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic } })).json()) as { queues: Array<{ name: string }> };
    expect(api.queues.map((q) => q.name).sort()).toEqual([
      'operation-log-retention',
      'patch-runtime',
      'reconcile',
      'restart-runtime',
      'start-runtime',
      'stop-runtime',
    ]);
  });

  it('renders in a real headless Chromium listing start-runtime', { timeout: 60_000 }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const context = await browser.newContext({ httpCredentials: { username: auth.user, password: auth.password }, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(`${base}/admin/queues`);
      await page.getByText('start-runtime').first().waitFor({ timeout: 20_000 });
      // The overview fills in after the queue list: shoot the settled page.
      await page.getByText('Loading...').first().waitFor({ state: 'hidden', timeout: 20_000 });
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/bull-board.png', fullPage: true });
      expect(await page.content()).toContain('start-runtime');
    } finally {
      await browser.close();
    }
  });

  it('exits 0 on SIGTERM', { timeout: 40_000 }, async () => {
    const exited = new Promise<number | null>((resolve) => web.once('exit', (code) => resolve(code)));
    web.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(
      await fetch(`${base}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  });
});
