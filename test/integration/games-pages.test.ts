/**
 * The games pages (contract §16) over the real Postgres record store and
 * operation log: every game, a hundred to a page, found by following the
 * pages' own next links; a game's operations as the log orders them; what
 * callers wrote escaped on the way out of the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { sampleEntry } from '../contracts/operation-log.contract.js';
import { sampleRecord } from '../contracts/runtime-record-store.contract.js';
import type { TestDatabase } from '../support/db.js';
import { createTestDatabase } from '../support/db.js';
import { gamesPagesApp, TEST_TOKEN } from '../support/test-app.js';

const GAMES = 205;
const HOSTILE = '<script>alert(1)</script>';
const ids = Array.from({ length: GAMES }, (_, i) => `g-${String(i).padStart(3, '0')}`);

let database: TestDatabase;
let s: ReturnType<typeof gamesPagesApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  const records = new PostgresRuntimeRecordStore(database.db);
  const operations = new PostgresOperationLog(database.db);
  for (const id of ids) {
    const evil = id === 'g-150';
    await records.upsert(sampleRecord(id, evil ? { currentImageRef: `registry.test/e:1${HOSTILE}`, status: 'exited', restartCount: 3 } : {}), 1);
  }
  const T = Date.UTC(2026, 11, 8, 10, 0, 0);
  for (let i = 0; i < 3; i++) {
    await operations.append(
      sampleEntry('g-150', {
        opKind: (['start', 'restart', 'stop'] as const)[i]!,
        startedAt: new Date(T + i * 60_000),
        finishedAt: new Date(T + i * 60_000 + 1500),
        ...(i === 2 ? { outcome: 'failure', errorCode: 'container_start_failed', errorMessage: `docker said ${HOSTILE}` } : {}),
      }),
    );
  }
  s = gamesPagesApp({ records, operations });
}, 60_000);

afterAll(async () => {
  await database?.close();
});

const gamesOn = (page: string) => [...page.matchAll(/<a href="\/admin\/games\/([\w-]+)">/g)].map((m) => m[1]!);

describe('the games pages on Postgres', () => {
  it('are behind the dashboard login, not the API token', async () => {
    expect((await s.app.request('/admin/games')).status).toBe(401);
    expect((await s.app.request('/admin/games', { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(401);
    expect((await s.page('/admin/games')).status).toBe(200);
  });

  it('list every game, a hundred to a page, through their next links', async () => {
    const pages: string[][] = [];
    let path: string | undefined = '/admin/games';
    while (path && pages.length < 10) {
      const res = await s.page(path);
      expect(res.status).toBe(200);
      const page = await res.text();
      pages.push(gamesOn(page));
      path = /<a rel="next" href="([^"]+)">/.exec(page)?.[1]?.replace(/&amp;/g, '&');
    }
    expect(pages.map((p) => p.length)).toEqual([100, 100, 5]);
    expect(pages.flat()).toEqual(ids);
  });

  it('show what callers wrote as text', async () => {
    const res = await s.page('/admin/games?status=exited');
    const page = await res.text();
    expect(gamesOn(page)).toEqual(['g-150']);
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain('registry.test/e:1&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toMatch(/<td class="num">3<\/td>\s*<\/tr>/);
  });

  it("show a game's operations newest first, its error message escaped", async () => {
    const page = await (await s.page('/admin/games/g-150')).text();
    const kinds = [...page.matchAll(/<td>2026-12-08 10:0\d:00 UTC<\/td>\s*<td>(\w+)<\/td>/g)].map((m) => m[1]);
    expect(kinds).toEqual(['stop', 'restart', 'start']);
    expect(page).toContain('docker said &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('1500 ms');
    expect(page.match(/<script/g)).toHaveLength(1);
  });
});
