/**
 * Contract §16's logs through the Procfile processes (web and worker) on a
 * real engine, a game started through the API running
 * galaxy-test-engine:chatter (test/images/chatter/chatter.sh: known lines,
 * ten a second on each stream): tail, since, follow at the engine's rate,
 * NDJSON and SSE framing, the bounds on a line, the end line a stop brings,
 * 404 and 401. Run by test/e2e on one engine and by test/swarm on the
 * one-node swarm (where the game's output is its task's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from '../faults/support.js';
import { faultSystem } from '../faults/support.js';
import { CHATTER_PREAMBLE, LONG_LINE_CUT, TIMESTAMP } from '../contracts/engine-logs.contract.js';

const IMAGE = 'galaxy-test-engine:chatter';

interface Line {
  ts: string;
  stream: 'stdout' | 'stderr';
  line: string;
  truncated?: true;
}

let s: FaultSystem;

const logs = (gameId: string, query = '', headers: Record<string, string> = {}) =>
  fetch(`${s.base}/api/v1/internal/runtimes/${gameId}/logs${query}`, { headers: { authorization: `Bearer ${s.token}`, ...headers } });

const ndjson = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

async function startChatter(name: string): Promise<string> {
  const gameId = s.gameId(name);
  const res = await s.post(`/runtimes/${gameId}/start?wait=60`, { image_ref: IMAGE });
  const body = (await res.json()) as { state: string; result?: unknown };
  expect(body, JSON.stringify(body)).toMatchObject({ state: 'completed' });
  return gameId;
}

/** Reads a streamed body until `done` says so or `ms` pass; then lets it go (the client goes away). */
async function readFor(res: Response, ms: number, done: (text: string) => boolean = () => false): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || done(text)) break;
    const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
    if (!next || next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  await reader.cancel();
  return text;
}

export function logsSuite(): void {
  let gameId: string;
  beforeAll(async () => {
    s = await faultSystem({ env: { RTMANAGER_STOP_TIMEOUT_SECONDS: '2' } });
    s.start('web');
    s.start('worker');
    await s.waitReady();
    gameId = await startChatter('chat');
  }, 120_000);
  afterAll(() => s?.cleanup());

  describe("GET /runtimes/{game_id}/logs on a real engine's output", () => {
    it('401 without the token; 404 in our error shape for a game with no record', async () => {
      expect((await fetch(`${s.base}/api/v1/internal/runtimes/${gameId}/logs`)).status).toBe(401);
      const missing = await logs(s.gameId('nobody'));
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: { code: 'not_found', message: `no runtime record for game ${s.gameId('nobody')}` } });
    });

    it('the lines written so far: each stream in order, stamped; the 20,000-character line cut at 16 KiB and marked; bytes that are not UTF-8 as U+FFFD', async () => {
      const res = await logs(gameId, '?tail=10000');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      const lines = ndjson<Line>(await res.text());
      const stdout = lines.filter((l) => l.stream === 'stdout');
      expect(stdout.slice(0, CHATTER_PREAMBLE.length).map((l) => l.line)).toEqual(CHATTER_PREAMBLE);
      expect(lines.filter((l) => l.stream === 'stderr')[0]?.line).toBe('hello stderr');
      expect(lines.filter((l) => l.truncated)).toEqual([{ ts: expect.stringMatching(TIMESTAMP), stream: 'stdout', line: LONG_LINE_CUT, truncated: true }]);
      for (const l of lines) expect(Object.keys(l).sort()).toEqual(l.truncated ? ['line', 'stream', 'truncated', 'ts'] : ['line', 'stream', 'ts']);
      // Ticks on each stream, numbered without a gap.
      const ticks = stdout.filter((l) => l.line.startsWith('tick ')).map((l) => Number(l.line.split(' ')[1]));
      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks).toEqual(ticks.map((_, i) => i + 1));
    });

    it('tail=N: the last N lines; since (ISO-8601 or unix seconds): the lines written at or after it', async () => {
      const last = ndjson<Line>(await (await logs(gameId, '?tail=3')).text());
      expect(last).toHaveLength(3);
      // A loaded machine may not have run the engine to its third tick yet.
      let all: Line[] = [];
      await expect
        .poll(async () => (all = ndjson<Line>(await (await logs(gameId, '?tail=10000')).text())).some((l) => l.line === 'tick 3 out'), { timeout: 20_000 })
        .toBe(true);
      const pivot = all.find((l) => l.line === 'tick 3 out')!;
      for (const since of [pivot.ts, (Date.parse(pivot.ts) / 1000).toFixed(3)]) {
        const after = ndjson<Line>(await (await logs(gameId, `?tail=10000&since=${encodeURIComponent(since)}`)).text());
        const stdout = after.filter((l) => l.stream === 'stdout').map((l) => l.line);
        expect(stdout[0], since).toBe('tick 3 out');
        expect(after.every((l) => Date.parse(l.ts) >= Date.parse(pivot.ts) - 1)).toBe(true);
      }
    });

    it('follow: the lines as the engine writes them, at its rate (ten a second on each stream), every one', async () => {
      const began = Date.now();
      const text = await readFor(await logs(gameId, '?tail=0&follow=true'), 3_000);
      const seconds = (Date.now() - began) / 1000;
      const lines = ndjson<Line>(text);
      for (const stream of ['stdout', 'stderr'] as const) {
        const ticks = lines.filter((l) => l.stream === stream).map((l) => Number(l.line.split(' ')[1]));
        // 10 a second, give or take a loaded machine; consecutive: none lost.
        expect(ticks.length / seconds, stream).toBeGreaterThan(5);
        expect(ticks.length / seconds, stream).toBeLessThan(12);
        expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i));
      }
    });

    it('SSE with Accept: text/event-stream: one `log` event per line, its data the same JSON', async () => {
      const res = await logs(gameId, '?tail=5&follow=true', { accept: 'text/event-stream' });
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const text = await readFor(res, 10_000, (t) => t.split('\n\n').length > 8);
      const events = text.split('\n\n').filter((e) => e !== '');
      expect(events.length).toBeGreaterThan(7);
      for (const event of events.slice(0, -1)) {
        expect(event).toMatch(/^event: log\ndata: \{.*\}$/);
        expect(JSON.parse(event.slice(event.indexOf('data: ') + 6))).toMatchObject({ ts: expect.stringMatching(TIMESTAMP), stream: expect.any(String) });
      }
    });

    it('a stop ends a follow: the lines up to it, then {"end":true,"exit_code":143} (the engine died of SIGTERM), and the stream ends', async () => {
      const stopped = await startChatter('stopped');
      const res = await logs(stopped, '?tail=0&follow=true');
      const reading = res.text();
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await s.post(`/runtimes/${stopped}/stop?wait=60`)).status).toBe(200);
      const lines = ndjson<Record<string, unknown>>(await reading);
      expect(lines.at(-1)).toEqual({ end: true, exit_code: 143 });
      expect(lines.filter((l) => typeof l.line === 'string').length).toBeGreaterThan(5);
      // The game is stopped now: no container, no lines; a follow ends at once with the exit code its record kept.
      expect(await (await logs(stopped)).text()).toBe('');
      expect(ndjson(await (await logs(stopped, '?follow=true')).text())).toEqual([{ end: true, exit_code: 143 }]);
    });
  });
}
