/**
 * An operator watching a slow pull on Bull Board: the whole system (auth on)
 * pulls a 16 MB image from the private registry through a proxy that paces
 * it to 1 MB/s, while a real headless Chromium opens the start-runtime
 * queue's active jobs and the job's Progress tab. The screenshot is kept in
 * test-artifacts/; the page must show the pull's layers and bytes, as the
 * start poll tells them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import type { InProcessSystem } from '../support/in-process-system.js';
import { inProcessSystem } from '../support/in-process-system.js';
import { pushEngineImage, removeLocalImage, testRegistry } from '../support/registry.js';
import type { RegistryProxy } from '../support/registry-proxy.js';
import { registryProxy } from '../support/registry-proxy.js';

const admin = { username: 'operator', password: 'a-dashboard-password' };
const registry = testRegistry();
let tmp: string;
let proxy: RegistryProxy;
let s: InProcessSystem;
const refs: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rtm-dash-pull-'));
  // 40 s for the 16 MB: long enough for Chromium to start and Bull Board to render on a loaded machine (at 1 MB/s the pull
  // once ended first, at load average 19); a passing test reads the page mid-pull and does not wait for the rest.
  proxy = await registryProxy({ upstream: registry.host, bytesPerSecond: 400_000 });
  const auth = Buffer.from(`${registry.user}:${registry.password}`).toString('base64');
  await writeFile(path.join(tmp, 'config.json'), JSON.stringify({ auths: { [proxy.host]: { auth } } }));
  s = await inProcessSystem({
    RTMANAGER_AUTH_DISABLED: 'false',
    RTMANAGER_API_TOKEN: 'dashboard-pull-token-0123456789',
    RTMANAGER_ADMIN_USER: admin.username,
    RTMANAGER_ADMIN_PASSWORD: admin.password,
    RTMANAGER_DOCKER_CONFIG: path.join(tmp, 'config.json'),
  });
});

afterAll(async () => {
  await s.cleanup();
  await proxy.close();
  for (const ref of refs) removeLocalImage(ref);
  await rm(tmp, { recursive: true, force: true });
});

/** Every number of the progress object as the page prints it (`key:value`, or `"key": value`). */
function shownProgress(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ['layers_done', 'layers_total', 'bytes_done', 'bytes_total']) {
    const match = new RegExp(`"?${key}"?\\s*:\\s*(\\d+)`).exec(text);
    if (match) out[key] = Number(match[1]);
  }
  return out;
}

describe('Bull Board during a pull', () => {
  it('shows the job mid-pull with its layers and bytes', { timeout: 120_000 }, async () => {
    const pushed = pushEngineImage({ layerBytes: 16_000_000 });
    const ref = pushed.ref.replace(registry.host, proxy.host);
    refs.push(pushed.ref, ref);
    const game = s.gameId('dash');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    // The layers already local are counted first; wait for the download itself.
    for (let answer = await s.poll(game); !((answer?.progress as { bytes_done?: number } | null)?.bytes_done ?? 0); answer = await s.poll(game)) {
      if (answer?.result) throw new Error(`the start ended before its pull showed bytes: ${JSON.stringify(answer)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ httpCredentials: admin, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${s.base}/admin/queues/queue/start-runtime?status=active`);
      await page.getByText(game).first().waitFor({ timeout: 30_000 });
      await page.getByText('Progress', { exact: true }).first().click();
      await page.getByText('pull_image').first().waitFor({ timeout: 20_000 });

      const text = await page.innerText('body');
      const polled = await s.poll(game);
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/bull-board-pull-progress.png', fullPage: true });

      // Still mid-pull when the page was read: the poll says the job is active and the bytes are not all in.
      expect(polled?.state).toBe('active');
      const shown = shownProgress(text);
      expect(Object.keys(shown).sort(), text).toEqual(['bytes_done', 'bytes_total', 'layers_done', 'layers_total']);
      expect(shown.layers_total).toBeGreaterThanOrEqual(1);
      expect(shown.bytes_total).toBeGreaterThanOrEqual(16_000_000);
      expect(shown.bytes_done).toBeGreaterThan(0);
      expect(shown.bytes_done).toBeLessThan(shown.bytes_total!);
      // The page and the start poll tell the same pull: the totals agree, and the poll has not gone backwards.
      const progress = polled?.progress as Record<string, number>;
      expect(progress.bytes_total).toBe(shown.bytes_total);
      expect(progress.layers_total).toBe(shown.layers_total);
      expect(progress.bytes_done).toBeGreaterThanOrEqual(shown.bytes_done!);
    } finally {
      await browser.close();
    }
    expect((await s.finished(game, 'start', 90_000)).outcome).toBe('success');
  });
});
