/**
 * The web process as an operator meets it: Bull Board behind basic auth,
 * rendered by a real headless Chromium (the screenshot is kept in
 * test-artifacts/), read-only by default and out of reach of other sites
 * (contract §12), and a SIGTERM that ends the process cleanly with exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import type { TestDatabase } from '../support/db.js';
import { createTestDatabase } from '../support/db.js';
import { testLabelsEnv, testRedisUrl } from '../support/services.js';
import { SseReader } from '../support/sse.js';

/**
 * Bull Board 9's queue actions menu: shown only for a queue that is not
 * read-only. Not the header's links menu (its user icon), which holds the
 * games page's link on every board page.
 */
const QUEUE_ACTIONS = 'button[aria-haspopup="menu"]:not(:has(svg.lucide-circle-user))';
const auth = { user: 'operator', password: 'dashboard-password' };
const basic = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;

let database: TestDatabase;
let browser: Browser;
let attacker: http.Server;
let attackerOrigin: string;
const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
const webs: Web[] = [];

interface Web {
  process: ChildProcess;
  base: string;
  prefix: string;
  /** The web's start-runtime queue, read straight from Redis. */
  starts: Queue;
  output(): string;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function startWeb(name: string, env: Record<string, string> = {}): Promise<Web> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const prefix = `dash${name}${process.pid}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'web'], {
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
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const web: Web = { process: child, base, prefix, starts: new Queue('start-runtime', { connection: redis, prefix }), output: () => output };
  webs.push(web);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return web;
    if (Date.now() > deadline) throw new Error(`web did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A page on another site (another port is another origin) that makes the
 * operator's browser POST a start-runtime job to the board: a text/plain form,
 * the one body a cross-site form can send that the board's adapter reads as
 * JSON. `?target=` names the board.
 */
function attackPage(target: string, gameId: string): string {
  const job = { name: 'start', data: { gameId, imageRef: 'evil.example/miner:latest', opSource: 'admin_rest', sourceRef: 'csrf' }, options: { jobId: gameId } };
  // text/plain sends `name=value`: the JSON is split so that the `=` lands inside a string.
  const json = JSON.stringify({ ...job, pad: '' });
  const cut = json.length - 2;
  const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/'/g, '&#39;');
  return `<!doctype html><form method="POST" enctype="text/plain" action="${target}/admin/queues/api/queues/start-runtime/add">
<input name='${attr(json.slice(0, cut))}' value='${attr(json.slice(cut))}'></form><script>document.forms[0].submit()</script>`;
}

beforeAll(async () => {
  database = await createTestDatabase();
  attacker = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.writeHead(200, { 'content-type': 'text/html' }).end(attackPage(url.searchParams.get('target') ?? '', url.searchParams.get('game') ?? 'csrf'));
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerOrigin = `http://127.0.0.1:${(attacker.address() as net.AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const web of webs) {
    if (web.process.exitCode === null && web.process.signalCode === null) web.process.kill('SIGKILL');
    await web.starts.obliterate({ force: true }).catch(() => undefined);
    await web.starts.close();
    const keys = await redis.keys(`${web.prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
  await new Promise((r) => attacker?.close(r));
  await database?.close();
});

/** A browser profile of an operator logged in to the board (Chromium answers its basic-auth challenges, as a cached login would). */
function operator(): Promise<BrowserContext> {
  return browser.newContext({ httpCredentials: { username: auth.user, password: auth.password }, viewport: { width: 1280, height: 800 } });
}

/** Opens the attacker's page in the operator's browser and waits for its form to land on the board. */
async function sufferAttack(context: BrowserContext, web: Web, gameId: string): Promise<number> {
  const page = await context.newPage();
  const landed = page.waitForResponse((r) => r.url().startsWith(`${web.base}/admin/queues/api/`) && r.status() !== 401, { timeout: 20_000 });
  await page.goto(`${attackerOrigin}/?target=${encodeURIComponent(web.base)}&game=${gameId}`);
  const status = (await landed).status();
  await page.close();
  return status;
}

describe('Bull Board and the web process (read-only, the default)', () => {
  let web: Web;
  beforeAll(async () => {
    web = await startWeb('ro');
  }, 60_000);

  it('answers 200 with credentials and 401 without, page and API alike', async () => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues']) {
      expect((await fetch(`${web.base}${path}`)).status, path).toBe(401);
      expect(
        (await fetch(`${web.base}${path}`, { headers: { authorization: `Basic ${Buffer.from('operator:wrong').toString('base64')}` } })).status,
        path,
      ).toBe(401);
      expect((await fetch(`${web.base}${path}`, { headers: { authorization: basic } })).status, path).toBe(200);
    }
    const api = (await (await fetch(`${web.base}/admin/queues/api/queues`, { headers: { authorization: basic } })).json()) as {
      queues: Array<{ name: string }>;
    };
    expect(api.queues.map((q) => q.name).sort()).toEqual([
      'crash-restart',
      'operation-log-retention',
      'patch-runtime',
      'reconcile',
      'restart-runtime',
      'start-runtime',
      'stop-runtime',
    ]);
  });

  it('renders in a real headless Chromium listing start-runtime, read-only, with the frame headers', { timeout: 60_000 }, async () => {
    const context = await operator();
    try {
      const page = await context.newPage();
      const response = await page.goto(`${web.base}/admin/queues`);
      expect(response?.headers()['x-frame-options']).toBe('DENY');
      expect(response?.headers()['content-security-policy']).toBe("frame-ancestors 'none'");
      await page.getByText('start-runtime').first().waitFor({ timeout: 20_000 });
      // The overview fills in after the queue list: shoot the settled page.
      await page.getByText('Loading...').first().waitFor({ state: 'hidden', timeout: 20_000 });
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/bull-board.png', fullPage: true });
      expect(await page.content()).toContain('start-runtime');

      await page.goto(`${web.base}/admin/queues/queue/start-runtime`);
      await page.getByText('No workers').first().waitFor({ timeout: 20_000 });
      // No queue actions menu (add job, pause, clean, obliterate…), and the queue's info says why.
      expect(await page.locator(QUEUE_ACTIONS).count()).toBe(0);
      await page.getByRole('button', { name: 'Queue info' }).click();
      await page.getByText('Retries allowed').waitFor({ timeout: 10_000 });
      expect(await page.innerText('body')).toMatch(/Read-only\s+Yes/);
      // Even the board's own page cannot write, whatever the UI shows.
      const pause = await page.evaluate(
        async () => (await fetch('api/queues/start-runtime/pause', { method: 'PUT', headers: { 'content-type': 'application/json' } })).status,
      );
      expect(pause).toBe(403);
      expect(await web.starts.isPaused()).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('cannot be framed by another page', { timeout: 30_000 }, async () => {
    const context = await operator();
    try {
      const page = await context.newPage();
      await page.setContent(`<iframe id="board" src="${web.base}/admin/queues"></iframe>`);
      const frame = await (await page.waitForSelector('#board')).contentFrame();
      // Chromium replaces a refused frame by its error page: the board never renders in it.
      await expect.poll(() => frame?.url(), { timeout: 10_000 }).toMatch(/^chrome-error:/);
      expect(await frame?.content()).not.toContain('__UI_CONFIG__');
    } finally {
      await context.close();
    }
  });

  it("a cross-site text/plain form POST riding the operator's credentials adds no job", { timeout: 30_000 }, async () => {
    const context = await operator();
    try {
      expect(await sufferAttack(context, web, 'csrf-ro')).toBe(403);
      expect(await web.starts.getJob('csrf-ro')).toBeUndefined();
      expect(await web.starts.count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('closes a connection whose headers never finish (contract §12: within 10 s)', { timeout: 40_000 }, async () => {
    const socket = net.connect(Number(new URL(web.base).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    const closed = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const outcome = await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 25_000))]);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('exits 0 on SIGTERM, ending a followed events stream rather than waiting out the grace period for it', { timeout: 40_000 }, async () => {
    const followed = await fetch(`${web.base}/api/v1/internal/events?follow=true`, { headers: { authorization: 'Bearer dashboard-test-token-0123456789' } });
    expect(followed.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => web.process.once('exit', (code) => resolve(code)));
    const began = Date.now();
    web.process.kill('SIGTERM');
    // The stream ends (its body closes) and the process goes well within RTMANAGER_SHUTDOWN_GRACE_MS (25 s), which would exit 1.
    expect(await new SseReader(followed.body).rest(10_000)).toEqual([]);
    expect(await exited).toBe(0);
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(
      await fetch(`${web.base}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  });
});

describe('Bull Board with RTMANAGER_ADMIN_WRITE_ENABLED=true', () => {
  let web: Web;
  beforeAll(async () => {
    web = await startWeb('rw', { RTMANAGER_ADMIN_WRITE_ENABLED: 'true' });
  }, 60_000);

  it('still refuses the cross-site form; the board page itself can pause and resume a queue', { timeout: 60_000 }, async () => {
    const context = await operator();
    try {
      expect(await sufferAttack(context, web, 'csrf-rw')).toBe(403);
      expect(await web.starts.getJob('csrf-rw')).toBeUndefined();

      const page = await context.newPage();
      const response = await page.goto(`${web.base}/admin/queues/queue/start-runtime`);
      expect(response?.headers()['x-frame-options']).toBe('DENY');
      // The queue actions are offered.
      await page.locator(QUEUE_ACTIONS).first().waitFor({ timeout: 20_000 });
      // As the board's client sends a body-less write (axios over XMLHttpRequest, no content type of its own).
      const put = (path: string) =>
        page.evaluate<number>(
          `new Promise((resolve) => { const xhr = new XMLHttpRequest(); xhr.open('PUT', ${JSON.stringify(path)}); xhr.onloadend = () => resolve(xhr.status); xhr.send(); })`,
        );
      expect(await put('api/queues/start-runtime/pause')).toBe(200);
      expect(await web.starts.isPaused()).toBe(true);
      expect(await put('api/queues/start-runtime/resume')).toBe(200);
      expect(await web.starts.isPaused()).toBe(false);
    } finally {
      await context.close();
    }
  });
});
