/**
 * The games pages (contract §16) through `app.request`: the dashboard's
 * basic auth and nothing else, its frame rules and a nonce-only script
 * policy, escaping of what callers and Docker wrote, read-only, and the two
 * data routes handing the game window's answers to the page as they are.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryOperationLog } from '../fakes/in-memory-operation-log.js';
import { InMemoryRuntimeRecordStore } from '../fakes/in-memory-runtime-record-store.js';
import { sampleEntry } from '../contracts/operation-log.contract.js';
import { sampleRecord } from '../contracts/runtime-record-store.contract.js';
import { RECENT_OPERATIONS } from '../../src/http/games-pages.js';
import { gamesPagesApp, TEST_ADMIN_BASIC, TEST_TOKEN } from '../support/test-app.js';

const HOSTILE = '<script>alert(1)</script>';

async function seeded() {
  const records = new InMemoryRuntimeRecordStore();
  const operations = new InMemoryOperationLog();
  await records.upsert(sampleRecord('g-1'), 1);
  await records.upsert(sampleRecord('g-evil', { currentImageRef: `registry.test/e:1${HOSTILE}`, currentImageDigest: `sha256:"${HOSTILE}` }), 1);
  await operations.append(sampleEntry('g-evil', { outcome: 'failure', errorCode: 'image_pull_failed', errorMessage: `pull failed: ${HOSTILE}` }));
  return gamesPagesApp({ records, operations });
}

const PATHS = ['/admin/games', '/admin/games/', '/admin/games/g-1', '/admin/games/g-1/stats', '/admin/games/g-1/logs?follow=true&tail=100'];

describe('the games pages: who may read them', () => {
  it.each(PATHS)('%s: 401 without credentials, with a wrong password, with the API token alone; 200/501 with the dashboard login', async (path) => {
    const s = await seeded();
    const wrong = `Basic ${Buffer.from('admin:wrong').toString('base64')}`;
    for (const authorization of [undefined, wrong, `Bearer ${TEST_TOKEN}`]) {
      const res = await s.app.request(path, authorization ? { headers: { authorization } } : {});
      expect(res.status, `${path} with ${authorization}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="rtmanager"/);
    }
    // The window is not wired in this app: its 501 comes through; the pages render.
    expect((await s.page(path)).status).toBe(path.includes('/g-1/') ? 501 : 200);
  });

  it('are in the OpenAPI document, every route they serve, behind basic auth', async () => {
    const s = await seeded();
    const doc = (await (await s.app.request('/openapi.json')).json()) as { paths: Record<string, { get: { security: unknown } }> };
    const served = s.app.routes.filter((r) => r.method === 'GET' && r.path.startsWith('/admin/games')).map((r) => r.path.replace(/:(\w+)/g, '{$1}'));
    const documented = Object.keys(doc.paths).filter((p) => p.startsWith('/admin/games'));
    expect(new Set(served)).toEqual(new Set(documented));
    expect(documented.every((p) => JSON.stringify(doc.paths[p]!.get.security) === '[{"basic":[]}]')).toBe(true);
  });

  it('refuses every write, with the dashboard login too', async () => {
    const s = await seeded();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await s.app.request('/admin/games/g-1', { method, headers: { authorization: TEST_ADMIN_BASIC, 'content-type': 'application/json' } });
      expect(res.status, method).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
  });

  it("carries the dashboard's frame rules on every answer, the 401s included", async () => {
    const s = await seeded();
    for (const res of [
      await s.app.request('/admin/games'),
      await s.page('/admin/games'),
      await s.page('/admin/games/g-1'),
      await s.page('/admin/games/g-1/stats'),
    ]) {
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toMatch(/^frame-ancestors 'none'(; (?!.*frame-ancestors)|$)/);
    }
  });

  it("the data routes answer the page's own script only: another origin, or a cross-site or same-site fetch, is refused", async () => {
    const s = await seeded();
    s.window.statsAnswer = () => Response.json({ cpu_percent: 1 });
    const own = 'http://localhost';
    expect((await s.page('/admin/games/g-1/stats', { origin: own, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    const foreign: Array<Record<string, string>> = [
      { origin: 'http://evil.test' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of foreign) {
      for (const path of ['/admin/games/g-1/stats', '/admin/games/g-1/logs']) {
        const res = await s.page(path, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    expect(s.window.asked).toHaveLength(1);
  });
});

describe('the games pages: what they show', () => {
  it('lists every game with status, health, image, digest, limits, started at and restarts, escaping what callers wrote', async () => {
    const s = await seeded();
    const res = await s.page('/admin/games');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toContain('<a href="/admin/games/g-1">g-1</a>');
    expect(page).toContain('registry.local:5000/galaxy/engine:1.2.3');
    expect(page).toContain(`sha256:${'5'.repeat(12)}`);
    // 0.25 CPU, 12 TiB, 4096 pids, started one millisecond after T0, no restarts.
    for (const shown of ['0.25 CPU', '12 TiB', '>4096<', '2026-11-25 12:00:00 UTC', 'health-none', 'status-running']) expect(page).toContain(shown);
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain('registry.test/e:1&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('title="sha256:&quot;&lt;script&gt;');
    // The list page runs no script at all.
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('<a href="/admin/queues">Queues</a>');
  });

  it("shows one game's record and its operations, newest first, at most twenty, escaping their messages", async () => {
    const s = await seeded();
    for (let i = 0; i < RECENT_OPERATIONS + 5; i++) await s.operations.append(sampleEntry('g-evil', { sourceRef: `r${i}`, opKind: 'stop' }));
    const page = await (await s.page('/admin/games/g-evil')).text();
    expect(page).not.toContain(HOSTILE);
    expect(page.match(/<tr>\s*<td>2026/g)).toHaveLength(RECENT_OPERATIONS);
    // The failed pull is the oldest: past the twenty shown.
    expect(page).not.toContain('image_pull_failed');
    const lone = gamesPagesApp({ records: s.records, operations: new InMemoryOperationLog() });
    await lone.operations.append(sampleEntry('g-evil', { outcome: 'failure', errorCode: 'image_pull_failed', errorMessage: `pull failed: ${HOSTILE}` }));
    const failed = await (await lone.page('/admin/games/g-evil')).text();
    expect(failed).toContain('image_pull_failed');
    expect(failed).toContain('pull failed: &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(failed).not.toContain(HOSTILE);
  });

  it("runs only its own script, by the response's nonce, and the script writes no markup", async () => {
    const s = await seeded();
    const res = await s.page('/admin/games/g-1');
    const policy = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    const page = await res.text();
    expect(page.match(/<script[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(page).toContain('data-url="/admin/games/g-1/stats"');
    expect(page).toContain('data-url="/admin/games/g-1/logs?follow=true&amp;tail=100"');
    expect(page).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    const other = (await s.page('/admin/games/g-1')).headers.get('content-security-policy');
    expect(other).not.toBe(policy);
  });

  it('answers 404 with a page for a game it holds no record of, escaping the name asked for', async () => {
    const s = await seeded();
    const res = await s.page('/admin/games/nope');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('No such game');
    const odd = await s.page(`/admin/games/${encodeURIComponent('<b>x')}`);
    expect(odd.status).toBe(404);
    expect(await odd.text()).toContain('&lt;b&gt;x');
  });

  it('pages through the games: a next link while more remain, a first-page link after the first, a status filter', async () => {
    const records = new InMemoryRuntimeRecordStore();
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) await records.upsert(sampleRecord(id, { status: id === 'a4' ? 'stopped' : 'running' }), 1);
    const s = gamesPagesApp({ records, operations: new InMemoryOperationLog(), pageSize: 2 });
    const seen: string[] = [];
    let path: string | undefined = '/admin/games';
    for (let i = 0; path && i < 5; i++) {
      const page = await (await s.page(path)).text();
      seen.push(...[...page.matchAll(/<a href="\/admin\/games\/([\w-]+)">/g)].map((m) => m[1]!));
      expect(page.includes('first page')).toBe(i > 0);
      path = /<a rel="next" href="([^"]+)">/.exec(page)?.[1]?.replace(/&amp;/g, '&');
    }
    expect(seen).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    const stopped = await (await s.page('/admin/games?status=stopped')).text();
    expect([...stopped.matchAll(/<a href="\/admin\/games\/([\w-]+)">/g)].map((m) => m[1])).toEqual(['a4']);
  });
});

describe('the games pages: stats and logs through the game window', () => {
  it('passes the window’s stats answer on as it is: 200, 409 not running, 501 not wired', async () => {
    const s = await seeded();
    for (const [status, body] of [
      [200, { cpu_percent: 12.5, memory_bytes: 1 }],
      [409, { error: { code: 'conflict', message: 'not running' } }],
      [501, { error: { code: 'not_implemented', message: 'not wired' } }],
    ] as const) {
      s.window.statsAnswer = () => Response.json(body, { status });
      const res = await s.page('/admin/games/g-1/stats');
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual(body);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(s.window.asked.map((a) => a.gameId)).toEqual(['g-1', 'g-1', 'g-1']);
  });

  it("hands the window the page's query, Accept and the request's abort signal, and streams its SSE body", async () => {
    const s = await seeded();
    const frames = ['event: log\ndata: {"ts":"t1","stream":"stdout","line":"a"}\n\n', 'event: end\ndata: {"end":true,"exit_code":0}\n\n'];
    s.window.logsAnswer = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (const frame of frames) controller.enqueue(new TextEncoder().encode(frame));
            controller.close();
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    const res = await s.page('/admin/games/g-1/logs?follow=true&tail=100', { accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe(frames.join(''));
    expect(s.window.asked).toEqual([
      { kind: 'logs', gameId: 'g-1', query: 'follow=true&tail=100', accept: 'text/event-stream', signal: expect.any(AbortSignal) },
    ]);
  });

  it('asks the window nothing for a name outside the game id grammar', async () => {
    const s = await seeded();
    expect((await s.page('/admin/games/a.b/stats')).status).toBe(404);
    expect((await s.page('/admin/games/a.b/logs')).status).toBe(404);
    expect(s.window.asked).toEqual([]);
  });
});
