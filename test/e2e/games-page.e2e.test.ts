/**
 * The games pages as an operator meets them (contract §16): the compiled
 * system (`all`) on real Redis, Postgres and Docker, a game started through
 * its API, and the pages rendered by a real headless Chromium logged in with
 * the dashboard's credentials (screenshots in test-artifacts/). Their script
 * runs under the page's own nonce policy: a script error or a refused inline
 * script or style fails the test.
 */
import { mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from '../faults/support.js';
import { docker, faultSystem } from '../faults/support.js';
import { launchChromium } from '../support/chromium.js';

const IMAGE = 'galaxy-test-engine:labelled';
/** faultSystem's dashboard login. */
const LOGIN = { username: 'admin', password: 'fault-admin-password' };

let s: FaultSystem;
let browser: Browser;
let gameId: string;

beforeAll(async () => {
  s = await faultSystem();
  s.start('all');
  await s.waitReady();
  browser = await launchChromium();
  gameId = s.gameId('page');
  const started = await s.post(`/runtimes/${gameId}/start?wait=45`, { image_ref: IMAGE });
  expect(started.status, await started.clone().text()).toBe(200);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.cleanup();
});

/** A logged-in operator's page, and what went wrong in it: uncaught errors, and anything the page's policy refused. */
async function operatorPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ httpCredentials: LOGIN, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`policy: ${message.text()}`);
  });
  return { context, page, problems };
}

/** What the stats panel must say, from what the page's own stats route answers this browser. */
async function expectedStatsLabel(page: Page): Promise<string> {
  const status = await page.evaluate(async (url) => (await fetch(url)).status, `/admin/games/${gameId}/stats`);
  return status === 200 ? 'running' : status === 409 ? 'not running' : 'unavailable';
}

describe('the games pages in a real browser', () => {
  it('list a game the test started, with its image, limits and status', { timeout: 60_000 }, async () => {
    const { context, page, problems } = await operatorPage();
    try {
      const response = await page.goto(`${s.base}/admin/games`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['x-frame-options']).toBe('DENY');
      expect(response?.headers()['content-security-policy']).toMatch(/^frame-ancestors 'none'; /);
      const row = page.locator('#games tbody tr', { hasText: gameId });
      const cells = await row.locator('td').allInnerTexts();
      const record = await s.records.get(gameId);
      expect(cells).toEqual([
        gameId,
        'running',
        'none',
        IMAGE,
        record!.currentImageDigest!.slice(0, 'sha256:'.length + 12),
        '0.5 CPU',
        '64 MiB',
        '64',
        `${record!.startedAt!.toISOString().slice(0, 19).replace('T', ' ')} UTC`,
        '0',
      ]);
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/games-list.png', fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("open a game's page from the list: its record, its operations, a stats reading, the log tail's state", { timeout: 60_000 }, async () => {
    const { context, page, problems } = await operatorPage();
    try {
      await page.goto(`${s.base}/admin/games`);
      await page.getByRole('link', { name: gameId, exact: true }).click();
      await page.waitForURL(`**/admin/games/${gameId}`);
      expect(await page.locator('#record').innerText()).toContain(IMAGE);
      const operations = page.locator('#operations tbody tr');
      expect(await operations.count()).toBe(1);
      expect((await operations.first().locator('td').allInnerTexts()).slice(1, 4)).toEqual(['start', 'gm_rest', 'success']);
      await expect.poll(() => page.locator('#stats-state').innerText(), { timeout: 15_000 }).toBe(await expectedStatsLabel(page));
      // The log tail either follows the engine or says it cannot: never stuck on connecting.
      await expect.poll(() => page.locator('#logs-state').innerText(), { timeout: 15_000 }).toMatch(/^(following|unavailable)$/);
      await page.screenshot({ path: 'test-artifacts/game-page.png', fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('show a stop newest first once the game stopped', { timeout: 90_000 }, async () => {
    const stopped = await s.post(`/runtimes/${gameId}/stop?wait=45`);
    expect(stopped.status, await stopped.clone().text()).toBe(200);
    const { context, page, problems } = await operatorPage();
    try {
      await page.goto(`${s.base}/admin/games/${gameId}`);
      expect(await page.locator('h1 .badge').innerText()).toBe('stopped');
      const kinds = await page.locator('#operations tbody tr td:nth-child(2)').allInnerTexts();
      expect(kinds).toEqual(['stop', 'start']);
      await expect.poll(() => page.locator('#stats-state').innerText(), { timeout: 15_000 }).toBe(await expectedStatsLabel(page));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('show lines the engine wrote after the page opened, as text, stderr apart, until the stop ends the stream', { timeout: 90_000 }, async () => {
    const followed = s.gameId('tail');
    const started = await s.post(`/runtimes/${followed}/start?wait=45`, { image_ref: IMAGE });
    expect(started.status, await started.clone().text()).toBe(200);
    const containerId = (await s.records.get(followed))!.currentContainerId!;
    /** A line on the engine's own stdout (1) or stderr (2): written to its init process's, as the engine's would be. */
    const engineWrites = async (line: string, fd: 1 | 2) => {
      const exec = await docker.getContainer(containerId).exec({ Cmd: ['/bin/busybox', 'sh', '-c', `echo '${line}' > /proc/1/fd/${fd}`] });
      await exec.start({ Detach: true });
    };
    const { context, page, problems } = await operatorPage();
    try {
      await page.goto(`${s.base}/admin/games/${followed}`);
      await expect.poll(() => page.locator('#logs-state').innerText(), { timeout: 15_000 }).toBe('following');
      const marker = `after-open-${Date.now()}`;
      await engineWrites(`${marker} <b>out</b>`, 1);
      await engineWrites(`${marker} err`, 2);
      await expect.poll(() => page.locator('#log-lines span', { hasText: marker }).count(), { timeout: 15_000 }).toBe(2);
      expect(await page.locator('#log-lines span.stdout', { hasText: `${marker} <b>out</b>` }).count()).toBe(1);
      expect(await page.locator('#log-lines b').count()).toBe(0);
      expect(await page.locator('#log-lines span.stderr', { hasText: `${marker} err` }).count()).toBe(1);
      // The stop ends the followed stream with its end line: the page says so and does not reconnect.
      expect((await s.post(`/runtimes/${followed}/stop?wait=45`)).status).toBe(200);
      await expect.poll(() => page.locator('#logs-state').innerText(), { timeout: 30_000 }).toMatch(/^the engine stopped/);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("are linked from Bull Board's header menu", { timeout: 60_000 }, async () => {
    const { context, page } = await operatorPage();
    try {
      await page.goto(`${s.base}/admin/queues`);
      await page.locator('header button[aria-haspopup="menu"]:has(svg.lucide-circle-user)').click({ timeout: 20_000 });
      await page.getByRole('menuitem', { name: 'Games' }).click();
      await page.waitForURL(`${s.base}/admin/games`);
      expect(await page.locator('#games').innerText()).toContain(gameId);
    } finally {
      await context.close();
    }
  });
});
