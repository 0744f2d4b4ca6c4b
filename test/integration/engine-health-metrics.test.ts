/**
 * Contract §15 as a scrape sees it, on the whole system running in this
 * process (web, worker, intake) on the default engine: the worker's health
 * event types are series from boot, a HEALTHCHECK engine turning unhealthy
 * and back is counted by type, and `rtmanager_runtimes{status,health}`
 * follows the records. The engine is `galaxy-test-engine:healthcheck`,
 * healthy while `ok` is in its state directory: the test deletes and
 * creates it.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InProcessSystem } from '../support/in-process-system.js';
import { inProcessSystem } from '../support/in-process-system.js';

const HEALTH = 'galaxy-test-engine:healthcheck';
let s: InProcessSystem;

beforeAll(async () => {
  s = await inProcessSystem();
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
});

const scrape = async (): Promise<string> => {
  const res = await fetch(`${s.base}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

/** The value of one series (name and labels exactly as exported), null when the text has none. */
function valueOf(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

const events = (type: string) => `rtmanager_health_events_total{event_type="${type}"}`;
const runtimes = (status: string, health: string) => `rtmanager_runtimes{status="${status}",health="${health}"}`;
/** The figures this test moves, read from one scrape. */
const reading = (text: string) => ({
  healthy: valueOf(text, runtimes('running', 'healthy')),
  unhealthy: valueOf(text, runtimes('running', 'unhealthy')),
  container_unhealthy: valueOf(text, events('container_unhealthy')),
  container_healthy: valueOf(text, events('container_healthy')),
});

it('an engine turning unhealthy and back moves rtmanager_runtimes and counts container_unhealthy, then container_healthy', { timeout: 90_000 }, async () => {
  const boot = await scrape();
  // From boot, before any event: rules over increase() see the first one (deploy/prometheus/alerts.yml).
  for (const type of ['container_unhealthy', 'container_healthy', 'container_restarted', 'container_crash_loop'])
    expect(valueOf(boot, events(type)), type).toBe(0);
  expect(reading(boot)).toEqual({ healthy: 0, unhealthy: 0, container_unhealthy: 0, container_healthy: 0 });

  const gameId = s.gameId('flip');
  const ok = path.join(s.config.container.gameStateRoot, gameId, 'ok');
  expect(await s.post(gameId, 'start', { image_ref: HEALTH })).toBe(202);
  // Healthy at its first probe: the start waits for that verdict.
  await expect.poll(() => existsSync(path.dirname(ok)), { timeout: 30_000, interval: 5 }).toBe(true);
  await writeFile(ok, '');
  expect(await s.finished(gameId)).toMatchObject({ outcome: 'success' });
  const started = await scrape();
  expect(reading(started)).toEqual({ healthy: 1, unhealthy: 0, container_unhealthy: 0, container_healthy: 0 });
  expect(valueOf(started, events('container_started'))).toBe(1);

  await rm(ok);
  await expect
    .poll(async () => reading(await scrape()), { timeout: 30_000, interval: 200 })
    .toEqual({
      healthy: 0,
      unhealthy: 1,
      container_unhealthy: 1,
      container_healthy: 0,
    });

  await writeFile(ok, '');
  await expect
    .poll(async () => reading(await scrape()), { timeout: 30_000, interval: 200 })
    .toEqual({
      healthy: 1,
      unhealthy: 0,
      container_unhealthy: 1,
      container_healthy: 1,
    });
});
