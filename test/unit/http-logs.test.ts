/**
 * GET /runtimes/{game_id}/logs (contract §16) through the app, on the fake
 * engine: the answers, NDJSON and SSE framing, the end line, the follower
 * ceiling, and what a reader that does not read costs (a bounded buffer and
 * dropped lines, told where they were).
 */
import { describe, expect, it } from 'vitest';
import type { RuntimeRecord } from '../../src/domain/model.js';
import { followerGate } from '../../src/http/follower-gate.js';
import { FakeDockerEngine } from '../fakes/fake-docker-engine.js';
import { ManualClock } from '../fakes/support.js';
import { TEST_TOKEN, testApp } from '../support/test-app.js';

const LOGS = '/api/v1/internal/runtimes/g-1/logs';
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

const record = (over: Partial<RuntimeRecord> = {}): RuntimeRecord => ({
  gameId: 'g-1',
  status: 'running',
  currentContainerId: null,
  currentImageRef: 'x:1',
  engineEndpoint: 'http://galaxy-game-g-1:8080',
  statePath: '/s/g-1',
  dockerNetwork: 'galaxy-engines',
  startedAt: new Date('2026-11-25T10:00:00Z'),
  stoppedAt: null,
  lastOpAt: new Date('2026-11-25T10:00:00Z'),
  createdAt: new Date('2026-11-25T09:00:00Z'),
  currentImageDigest: null,
  effectiveCpuQuota: 0.5,
  effectiveMemoryBytes: 67108864,
  effectivePidsLimit: 64,
  nodeId: null,
  nodeHostname: null,
  health: 'none',
  restartCount: 0,
  lastExitCode: null,
  ...over,
});

/** An app over a fake engine holding one running container of game g-1 that wrote `a`, `b` on stdout and `e` on stderr. */
async function world(opts: { maxFollowers?: number; bufferBytes?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 10, 0, 0));
  const engine = new FakeDockerEngine(clock);
  const containerId = engine.addContainer({
    name: 'galaxy-game-g-1',
    image: 'x:1',
    labels: {},
    state: 'running',
    running: true,
    exitCode: null,
    oomKilled: false,
    startedAt: null,
    finishedAt: null,
  });
  engine.writeOutput(containerId, 'stdout', 'a\n');
  clock.advance(1_000);
  engine.writeOutput(containerId, 'stderr', 'e\n');
  clock.advance(1_000);
  engine.writeOutput(containerId, 'stdout', 'b\n');
  let dropped = 0;
  const followers = followerGate(opts.maxFollowers ?? 100);
  const s = testApp({ engine, followers, logBufferBytes: opts.bufferBytes ?? 1024 * 1024, onLogLineDropped: () => dropped++ });
  await s.records.upsert(record({ currentContainerId: containerId }), 0);
  const get = (query = '', headers: Record<string, string> = {}) => s.app.request(`${LOGS}${query}`, { headers: { ...auth, ...headers } });
  return { ...s, engine, clock, containerId, followers, get, dropped: () => dropped };
}

const ndjson = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

/** Reads the body until `enough` says so (or it ends): what it read so far. */
async function readUntil(res: Response, enough: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!enough(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

describe('GET /runtimes/{game_id}/logs: answers', () => {
  it('401 without the token, 404 (our error shape) for a game with no record', async () => {
    const w = await world();
    expect((await w.app.request(LOGS)).status).toBe(401);
    const missing = await w.app.request('/api/v1/internal/runtimes/g-2/logs', { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: 'no runtime record for game g-2' } });
  });

  it('400 start_config_invalid naming the field for a bad tail, since or follow, and the engine is not asked', async () => {
    const w = await world();
    const bad = ['?tail=-1', '?tail=10001', '?tail=abc', '?tail=1.5', '?since=yesterday', '?since=2026-12-07T10:00:00', '?follow=yes'];
    for (const query of bad) {
      const res = await w.get(query);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, query).toBe('start_config_invalid');
      expect(body.error.message, query).toMatch(new RegExp(`^${query.slice(1).split('=')[0]!}: `));
    }
    expect(w.engine.calls).not.toContain('openLogs');
    expect((await w.get('?tail=10000&since=2026-12-07T10:00:00%2B01:00&follow=0')).status).toBe(200);
  });

  it('NDJSON lines {ts, stream, line}: each stream in its order, the last `tail` lines, `since` as unix seconds or ISO-8601', async () => {
    const w = await world();
    const res = await w.get();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(ndjson(await res.text())).toEqual([
      { ts: '2026-12-07T10:00:00.000Z', stream: 'stdout', line: 'a' },
      { ts: '2026-12-07T10:00:01.001Z', stream: 'stderr', line: 'e' },
      { ts: '2026-12-07T10:00:02.002Z', stream: 'stdout', line: 'b' },
    ]);
    expect(ndjson(await (await w.get('?tail=1')).text())).toEqual([{ ts: '2026-12-07T10:00:02.002Z', stream: 'stdout', line: 'b' }]);
    expect(await (await w.get('?tail=0')).text()).toBe('');
    const sinceIso = ndjson(await (await w.get('?since=2026-12-07T10:00:01Z')).text());
    const sinceUnix = ndjson(await (await w.get(`?since=${Date.UTC(2026, 11, 7, 10, 0, 1) / 1000}`)).text());
    expect(sinceIso.map((l) => (l as { line: string }).line)).toEqual(['e', 'b']);
    expect(sinceUnix).toEqual(sinceIso);
  });

  it('a cut line carries "truncated":true, bytes that are not UTF-8 arrive as U+FFFD', async () => {
    const w = await world();
    w.engine.writeOutput(w.containerId, 'stdout', new Uint8Array([0x78, 0xff, 0x0a]));
    w.engine.writeOutput(w.containerId, 'stdout', `${'z'.repeat(20_000)}\n`);
    const [bad, long] = ndjson(await (await w.get('?tail=2')).text()) as Array<{ line: string; truncated?: boolean }>;
    expect(bad).toEqual({ ts: expect.any(String), stream: 'stdout', line: 'x\uFFFD' });
    expect(long).toEqual({ ts: expect.any(String), stream: 'stdout', line: 'z'.repeat(16 * 1024), truncated: true });
  });

  it('follow: the lines as they are written, then {"end":true,"exit_code":N} when the container stops, and the stream ends', async () => {
    const w = await world();
    const res = await w.get('?tail=0&follow=true');
    expect(res.status).toBe(200);
    w.engine.writeOutput(w.containerId, 'stdout', 'later\n');
    w.engine.markExited(w.containerId, 3, false);
    expect(ndjson(await res.text())).toEqual([
      { ts: expect.any(String), stream: 'stdout', line: 'later' },
      { end: true, exit_code: 3 },
    ]);
    expect(w.followers.active).toBe(0);
  });

  it('SSE with Accept: text/event-stream: `log` events with the same JSON, then `end`', async () => {
    const w = await world();
    const res = await w.get('?tail=1&follow=1', { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    w.engine.markExited(w.containerId, 0, false);
    expect(await res.text()).toBe(
      'event: log\ndata: {"ts":"2026-12-07T10:00:02.002Z","stream":"stdout","line":"b"}\n\nevent: end\ndata: {"end":true,"exit_code":0}\n\n',
    );
  });

  it('a record with no container: no lines; a follow ends at once with the exit code the record kept', async () => {
    const w = await world();
    await w.records.upsert(record({ status: 'stopped', currentContainerId: null, lastExitCode: 143 }), 0);
    expect(await (await w.get()).text()).toBe('');
    expect(ndjson(await (await w.get('?follow=true')).text())).toEqual([{ end: true, exit_code: 143 }]);
  });

  it('503 service_unavailable when the engine cannot be read, and no follower place is kept', async () => {
    const w = await world();
    w.engine.daemonDown = true;
    const res = await w.get('?follow=true');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
    expect(w.followers.active).toBe(0);
  });
});

describe('GET /runtimes/{game_id}/logs: bounds', () => {
  it('at most RTMANAGER_LOG_STREAM_MAX_FOLLOWERS followed streams: 503 service_unavailable beyond; a place is free again once a reader goes away', async () => {
    const w = await world({ maxFollowers: 2 });
    const first = await w.get('?follow=true');
    const second = await w.get('?follow=true');
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await w.get('?follow=true');
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await third.json()).toMatchObject({
      error: { code: 'service_unavailable', message: expect.stringContaining('RTMANAGER_LOG_STREAM_MAX_FOLLOWERS') },
    });
    // A read that does not follow ends by itself: it is not counted.
    expect((await w.get()).status).toBe(200);
    expect(w.followers.active).toBe(2);
    expect(w.engine.output.following).toBe(2);
    // The client goes away: its engine follow ends, its place is free.
    await first.body!.cancel();
    await expect.poll(() => w.engine.output.following).toBe(1);
    expect(w.followers.active).toBe(1);
    expect((await w.get('?follow=true')).status).toBe(200);
  });

  it('a reader that does not read: the buffer stays bounded, lines past it are dropped, and {"dropped":N} stands where they were', async () => {
    const w = await world({ bufferBytes: 16 * 1024 });
    const res = await w.get('?tail=0&follow=true');
    const line = (i: number) => `line ${String(i).padStart(5, '0')} ${'x'.repeat(80)}\n`;
    for (let i = 1; i <= 2_000; i++) w.engine.writeOutput(w.containerId, 'stdout', line(i));
    w.engine.writeOutput(w.containerId, 'stdout', 'after\n');
    w.engine.markExited(w.containerId, 0, false);
    const events = ndjson(await res.text()) as Array<{ line?: string; dropped?: number; end?: true }>;
    const kept = events.filter((e) => e.line !== undefined);
    const markers = events.filter((e) => e.dropped !== undefined);
    expect(markers.length).toBeGreaterThan(0);
    expect(kept.length + markers.reduce((n, m) => n + m.dropped!, 0)).toBe(2_001);
    expect(kept.length).toBeLessThan(400);
    expect(w.dropped()).toBe(markers.reduce((n, m) => n + m.dropped!, 0));
    // Where the gap was: kept lines before a marker are in order, the ones after it come later.
    const numbers = kept.filter((e) => e.line!.startsWith('line')).map((e) => Number(e.line!.slice(5, 10)));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(events.at(-1)).toEqual({ end: true, exit_code: 0 });
  });

  it('a reader that catches up hears of the lines it missed before the next line', async () => {
    const w = await world({ bufferBytes: 16 * 1024 });
    const res = await w.get('?tail=0&follow=true');
    for (let i = 1; i <= 1_000; i++) w.engine.writeOutput(w.containerId, 'stdout', `${'y'.repeat(100)}\n`);
    // Caught up: everything queued is read, and the marker comes with it though no line followed the gap.
    const text = await readUntil(res, (t) => t.includes('"dropped"'));
    expect(ndjson(text).at(-1)).toEqual({ dropped: expect.any(Number) });
    await res.body!.cancel();
    await expect.poll(() => w.followers.active).toBe(0);
  });
});
