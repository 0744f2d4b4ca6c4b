import { readFileSync } from 'node:fs';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { describe, expect, it, vi } from 'vitest';
import { openDatabase, splitSocketHost, type DatabaseHandle } from '../../src/infra/db/client.js';
import { migrateDatabase } from '../../src/infra/db/migrate.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { healthSnapshots } from '../../src/infra/db/schema.js';
import { createTestDatabase, createTestPglite } from '../support/db.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

function clusterUrl(): string {
  return process.env.RTM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:15432/postgres';
}

/** Every migration the project ships (drizzle-kit's journal). */
const SHIPPED_MIGRATIONS = (JSON.parse(readFileSync('drizzle/meta/_journal.json', 'utf8')) as { entries: unknown[] }).entries.length;

/** How many migrations drizzle recorded as applied. */
async function appliedMigrations(handle: DatabaseHandle): Promise<number> {
  const rows = await handle.db.select({ n: sql<number>`count(*)::int` }).from(sql`drizzle.__drizzle_migrations`);
  return rows[0]?.n ?? -1;
}

async function roundTripSnapshot(handle: DatabaseHandle): Promise<void> {
  const occurredAt = new Date(Date.UTC(2026, 10, 25, 23, 59, 59, 987));
  const details = { exit_code: 137, oom: true, labels: { 'com.galaxy.game_id': 'g-smoke' }, note: 'ünïcødé' };
  await handle.db.insert(healthSnapshots).values({
    gameId: 'g-smoke',
    eventType: 'container_oom',
    containerId: 'c-smoke',
    occurredAt,
    details,
  });
  const [row] = await handle.db
    .select({
      occurredAt: healthSnapshots.occurredAt,
      details: healthSnapshots.details,
      epochMs: sql<string>`(extract(epoch from ${healthSnapshots.occurredAt}) * 1000)::bigint::text`,
      oom: sql<boolean>`(${healthSnapshots.details} ->> 'oom')::boolean`,
    })
    .from(healthSnapshots)
    .where(eq(healthSnapshots.gameId, 'g-smoke'));
  expect(row?.occurredAt).toEqual(occurredAt);
  expect(row?.details).toEqual(details);
  // The server itself holds the instant and a JSON object, not text that only round-trips in JS.
  expect(row?.epochMs).toBe(String(occurredAt.getTime()));
  expect(row?.oom).toBe(true);
}

describe('smoke: migration and a timestamptz + jsonb round trip', () => {
  const backends = [
    ['postgres', createTestDatabase],
    ['pglite', createTestPglite],
  ] as const;

  it.each(backends)('on %s', async (kind, create) => {
    const test = await create();
    try {
      expect(test.handle.kind).toBe(kind);
      await test.handle.ping();
      expect(await appliedMigrations(test.handle)).toBe(SHIPPED_MIGRATIONS);
      await roundTripSnapshot(test.handle);
    } finally {
      await test.close();
    }
  });
});

describe('migrations', () => {
  it('are safe when several processes migrate one database at once', async () => {
    const empty = await createTestDatabase({ migrate: false });
    const others = await Promise.all([1, 2, 3].map(() => openDatabase(empty.url, { dataDir: '' })));
    try {
      const results = await Promise.allSettled([empty.handle, ...others].map((h) => migrateDatabase(h)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(await appliedMigrations(empty.handle)).toBe(SHIPPED_MIGRATIONS);
    } finally {
      await Promise.all(others.map((h) => h.close()));
      await empty.close();
    }
  });

  /**
   * The tables as a deployed service has them just before the migration that
   * adds `column`, with a row in each; then every migration, as a service
   * upgraded in place runs them. Found by what it adds, not by its number:
   * merged branches may renumber migrations.
   */
  async function migratedFromBefore(handle: DatabaseHandle, column: string): Promise<void> {
    const before = await mkdtemp(path.join(os.tmpdir(), 'rtm-migrations-'));
    try {
      await cp(path.join(repoRoot, 'drizzle'), before, { recursive: true });
      const journal = JSON.parse(readFileSync(path.join(before, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
      const at = journal.entries.findIndex((e) => readFileSync(path.join(before, `${e.tag}.sql`), 'utf8').includes(`"${column}"`));
      expect(at).toBeGreaterThan(0);
      await writeFile(path.join(before, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
      if (handle.kind === 'pglite') await migratePglite(handle.db, { migrationsFolder: before });
      else await migratePostgres(handle.db, { migrationsFolder: before });
      await handle.db.execute(sql`insert into runtime_records (game_id, status, current_image_ref, last_op_at, created_at, lease_fence)
        values ('g-old', 'running', 'galaxy/engine:1', now(), now(), 7)`);
      await handle.db.execute(sql`insert into operation_log (game_id, op_kind, op_source, image_ref, outcome, started_at, finished_at)
        values ('g-old', 'start', 'gm_rest', 'galaxy/engine:1', 'success', now(), now())`);

      await migrateDatabase(handle);
      expect(await appliedMigrations(handle)).toBe(SHIPPED_MIGRATIONS);
    } finally {
      await rm(before, { recursive: true, force: true });
    }
  }

  const unmigrated = [
    ['postgres', () => createTestDatabase({ migrate: false })],
    ['pglite', () => openDatabase(undefined, { dataDir: 'memory://' }).then((handle) => ({ handle, close: () => handle.close() }))],
  ] as const;

  it.each(unmigrated)('the image digest / effective limits migration applies on %s tables holding rows, which read back NULL', async (_kind, create) => {
    const test = await create();
    try {
      const handle = test.handle;
      await migratedFromBefore(handle, 'current_image_digest');
      expect(await new PostgresRuntimeRecordStore(handle.db).get('g-old')).toMatchObject({
        status: 'running',
        currentImageRef: 'galaxy/engine:1',
        currentImageDigest: null,
        effectiveCpuQuota: null,
        effectiveMemoryBytes: null,
        effectivePidsLimit: null,
      });
      expect(await new PostgresOperationLog(handle.db).listByGame('g-old', 5)).toEqual([
        expect.objectContaining({ imageRef: 'galaxy/engine:1', imageDigest: null }),
      ]);
    } finally {
      await test.close();
    }
  });

  it.each(unmigrated)('the node migration applies on %s tables holding rows, which read back NULL and take a node', async (_kind, create) => {
    const test = await create();
    try {
      const handle = test.handle;
      await migratedFromBefore(handle, 'node_id');
      const store = new PostgresRuntimeRecordStore(handle.db);
      const old = await store.get('g-old');
      expect(old).toMatchObject({ status: 'running', currentImageRef: 'galaxy/engine:1', nodeId: null, nodeHostname: null });
      const placed = { ...old!, nodeId: 'n1', nodeHostname: 'host-1' };
      expect(await store.upsert(placed, 8)).toBe(true);
      expect(await store.get('g-old')).toEqual(placed);
    } finally {
      await test.close();
    }
  });

  it('are idempotent, and an on-disk PGlite keeps its data across reopening', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rtm-pglite-'));
    try {
      const first = await openDatabase(undefined, { dataDir: path.join(dataDir, 'db') });
      await migrateDatabase(first);
      await roundTripSnapshot(first);
      await first.close();
      const second = await openDatabase(undefined, { dataDir: path.join(dataDir, 'db') });
      try {
        await migrateDatabase(second);
        expect(await appliedMigrations(second)).toBe(SHIPPED_MIGRATIONS);
        const rows = await second.db.select().from(healthSnapshots);
        expect(rows.map((r) => r.gameId)).toEqual(['g-smoke']);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("an on-disk PGlite refuses a second opener while held, and takes over a dead holder's lock", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rtm-pglite-lock-'));
    const dir = path.join(dataDir, 'db');
    try {
      const holder = await openDatabase(undefined, { dataDir: dir });
      try {
        await expect(openDatabase(undefined, { dataDir: dir })).rejects.toThrow(/in use by process \d+.*RTMANAGER_DATABASE_URL/);
        await holder.ping();
      } finally {
        await holder.close();
      }
      // A pid far above pid_max stands for a holder that died without unlocking.
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '.rtmanager.lock'), '99999999');
      const next = await openDatabase(undefined, { dataDir: dir });
      await next.ping();
      await next.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('npm run db:migrate exits 0 on success and 1, naming the cause, on failure', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rtm-migrate-cli-'));
    // What `npm run db:migrate` runs: the compiled CLI (the global setup builds it), no tsx.
    const cli = path.join(repoRoot, 'dist/infra/db/migrate-cli.js');
    try {
      const env = { ...process.env, RTMANAGER_DATABASE_URL: '', RTMANAGER_PGLITE_DIR: path.join(dataDir, 'db') };
      // Run from elsewhere: the migrations folder is found from the module, not the cwd.
      const ok = await run(process.execPath, [cli], { env, cwd: os.tmpdir() });
      expect(ok.stdout).toMatch(/migrations applied \(pglite/);

      const badUrl = 'postgres://postgres@127.0.0.1:1/nowhere';
      const failed = await run(process.execPath, [cli], { env: { ...env, RTMANAGER_DATABASE_URL: badUrl }, cwd: os.tmpdir() }).then(
        () => null,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/db:migrate failed: .*ECONNREFUSED/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('openDatabase', () => {
  it('connects over a Unix socket given libpq-style: user@/db?host=/dir&port=N', async () => {
    const cluster = new URL(clusterUrl());
    const socketDir = process.env.RTM_TEST_PG_SOCKET_DIR ?? path.join(repoRoot, 'var/pg-run');
    const socketUrl = `postgres://${cluster.username}@/${cluster.pathname.slice(1)}?host=${socketDir}&port=${cluster.port || 5432}`;
    expect(splitSocketHost(socketUrl).socketPath).toBe(`${socketDir}/.s.PGSQL.${cluster.port || 5432}`);
    const handle = await openDatabase(socketUrl, { dataDir: '' });
    try {
      await handle.ping();
      if (handle.kind !== 'postgres') throw new Error('expected postgres.js');
      const [row] = await handle.client<Array<{ socket: boolean }>>`select inet_client_addr() is null as socket`;
      expect(row?.socket).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('a connection whose first statements fail leaves no rejection unheard (the process would exit on it)', async () => {
    // A 1 ms statement_timeout cancels whatever a new connection runs first. postgres.js 3.4.9
    // runs a catalog query there unless fetch_types is off, and drops that query's promise:
    // its cancel was an unhandled rejection, as a connection dying during it is when
    // Postgres goes down (the Postgres-outage fault test's worker exited on one).
    const unheard: unknown[] = [];
    const listen = (reason: unknown) => unheard.push(reason);
    process.on('unhandledRejection', listen);
    const handle = await openDatabase(clusterUrl(), { dataDir: '', statementTimeoutMs: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        // The statement itself may be cancelled too: that one is answered to its caller.
        await handle.ping().catch(() => undefined);
      }
      // An unhandled rejection is reported after the microtasks of its turn: let a few turns pass.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(unheard).toEqual([]);
    } finally {
      process.off('unhandledRejection', listen);
      await handle.close();
    }
  });

  it('ping rejects within its timeout when the server does not answer', async () => {
    // A server on loopback that accepts connections and never says a word:
    // only this machine's own addresses are ever a test's target.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const handle = await openDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`, { dataDir: '' });
    // Time moves only when the test says (fake timers): the ping ends at its own timeout, judged on that
    // timer and not on a stopwatch a busy machine can stretch; postgres.js's own (30 s) never fires.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let outcome = 'pending';
      handle.ping(300).then(
        () => (outcome = 'answered'),
        (error: unknown) => (outcome = error instanceof Error ? error.message : String(error)),
      );
      await vi.advanceTimersByTimeAsync(299);
      expect(outcome).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(outcome).toBe('postgres ping timed out after 300 ms');
    } finally {
      vi.useRealTimers();
      await Promise.race([handle.close(), new Promise((r) => setTimeout(r, 1_000))]);
      silent.close();
    }
  });
});
