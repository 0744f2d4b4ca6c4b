/**
 * Contract §16's bounds, on the web process as it runs in production (the
 * compiled Procfile role, a real engine, a chatter game started through the
 * API): a reader that never reads while the engine writes 50,000 lines costs
 * the web process a bounded buffer, not memory, and is told how many lines
 * it missed, while a reader beside it gets every line; followers that vanish
 * leave no Docker connection behind and give their places back.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from '../faults/support.js';
import { faultSystem, until } from '../faults/support.js';
import { dockerConnections, residentBytes } from '../support/process-probes.js';

const IMAGE = 'galaxy-test-engine:chatter';
const FLOOD_LINES = 50_000;
const MB = 1024 * 1024;

let s: FaultSystem;
let web: ChildProcess;
let gameId: string;

const logsUrl = (query: string) => `${s.base}/api/v1/internal/runtimes/${gameId}/logs${query}`;
const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${s.base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

/** A follow whose body is never read: once Node's small buffer is full the socket is not read either, and the kernel's fill up. */
function pausedFollow(): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(logsUrl('?tail=0&follow=true'), { headers: { authorization: `Bearer ${s.token}` }, agent: false }, (res) => {
      res.pause();
      resolve({ res, req });
    });
    req.on('error', reject);
  });
}

interface Heard {
  flood: number[];
  dropped: number[];
  lines: number;
}

/** Reads NDJSON from `res` until `enough` says so: the flood lines' numbers, the drops told, how many lines. */
function listen(res: http.IncomingMessage, enough: (heard: Heard, line: Record<string, unknown>) => boolean): Promise<Heard> {
  const heard: Heard = { flood: [], dropped: [], lines: 0 };
  let rest = '';
  return new Promise((resolve, reject) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        if (typeof line.dropped === 'number') heard.dropped.push(line.dropped);
        if (typeof line.line === 'string') {
          heard.lines++;
          if (line.line.startsWith('flood ') && line.line !== 'flood done') heard.flood.push(Number(line.line.split(' ')[1]));
        }
        if (enough(heard, line)) {
          res.destroy();
          resolve(heard);
          return;
        }
      }
    });
    res.on('error', reject);
    res.on('end', () => resolve(heard));
  });
}

beforeAll(async () => {
  s = await faultSystem();
  web = s.start('web');
  s.start('worker');
  await s.waitReady();
  gameId = s.gameId('bounds');
  const started = (await (await s.post(`/runtimes/${gameId}/start?wait=60`, { image_ref: IMAGE })).json()) as { state: string };
  expect(started.state).toBe('completed');
}, 120_000);

afterAll(() => s?.cleanup());

describe('log streams cost the web process bounded memory and connections (contract §16)', () => {
  it(
    'a reader that never reads while the engine writes 50,000 lines: the web stays within 20 MB of its start, {"dropped":N} comes once it reads, and a reader beside it gets every line',
    { timeout: 180_000 },
    async () => {
      const baseline = residentBytes(web.pid!);
      const paused = await pausedFollow();
      const fast = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(logsUrl('?tail=0&follow=true'), { headers: { authorization: `Bearer ${s.token}` }, agent: false }, resolve).on('error', reject),
      );
      const fastHeard = listen(fast, (_, line) => line.line === 'flood done');
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(web.pid!))), 50);
      writeFileSync(path.join(s.env.RTMANAGER_GAME_STATE_ROOT!, gameId, 'flood'), String(FLOOD_LINES));
      const heard = await fastHeard;
      // A while longer: whatever the web still holds for the paused reader, it holds now.
      await new Promise((r) => setTimeout(r, 2_000));
      clearInterval(sampler);

      expect(heard.dropped).toEqual([]);
      expect(heard.flood).toEqual(Array.from({ length: FLOOD_LINES }, (_, i) => i + 1));
      expect(peak - baseline, `resident ${Math.round(baseline / MB)} MB at the start, ${Math.round(peak / MB)} MB at most`).toBeLessThan(20 * MB);

      // The paused reader reads at last: what the buffers held, then where the gap was, how many lines it held.
      paused.res.resume();
      const late = await listen(paused.res, (h, line) => h.dropped.length > 0 && typeof line.line === 'string' && line.line.startsWith('tick '));
      expect(late.dropped.length).toBeGreaterThan(0);
      expect(late.flood).toEqual([...late.flood].sort((a, b) => a - b));
      expect(late.flood.length).toBeLessThan(FLOOD_LINES);
      expect(late.flood.length + late.dropped.reduce((n, d) => n + d, 0)).toBeGreaterThanOrEqual(FLOOD_LINES);
      expect(await metric('rtmanager_log_lines_dropped_total')).toBeGreaterThanOrEqual(late.dropped.reduce((n, d) => n + d, 0));
      paused.req.destroy();
      await until(
        () => metric('rtmanager_log_followers'),
        (n) => n === 0,
        10_000,
        'the followers gone',
      );
    },
  );

  it('100 followers that connect and vanish without closing: afterwards the web holds no Docker connection for them, and their places are free again', async () => {
    await until(
      () => metric('rtmanager_log_followers'),
      (n) => n === 0,
      10_000,
      'no follower left from before',
    );
    const before = dockerConnections(web.pid!);
    const clients = spawn(process.execPath, ['test/support/vanishing-followers.mjs', logsUrl('?tail=0&follow=true'), s.token, '100'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = await new Promise<string>((resolve) => clients.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    expect(ready).toBe('ready');
    expect(await metric('rtmanager_log_followers')).toBe(100);
    // Each holds the engine's log stream (and the wait for its exit): the count sees them.
    expect(dockerConnections(web.pid!) - before).toBeGreaterThanOrEqual(100);
    const refused = await fetch(logsUrl('?follow=true'), { headers: { authorization: `Bearer ${s.token}` } });
    expect(refused.status).toBe(503);

    clients.kill('SIGKILL');
    await until(
      () => Promise.resolve(dockerConnections(web.pid!)),
      (n) => n <= before,
      15_000,
      'the vanished followers’ Docker connections closed',
    );
    expect(await metric('rtmanager_log_followers')).toBe(0);
    const again = await fetch(logsUrl('?tail=1&follow=true'), { headers: { authorization: `Bearer ${s.token}` } });
    expect(again.status).toBe(200);
    await again.body!.cancel();
  });
});
