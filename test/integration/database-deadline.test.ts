/**
 * Contract §14, "nothing waits on the database forever", on the real
 * Postgres and on PGlite: a table locked by another session (an operator's
 * open transaction, a migration) or a server that stops answering makes a
 * database call fail within RTMANAGER_DB_STATEMENT_TIMEOUT_MS — an operation
 * with a retryable service_unavailable and its lease free, an HTTP read with
 * a 503 service_unavailable.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isDatabaseDeadline } from '../../src/domain/errors.js';
import type { LifecycleDeps, LifecycleHooks } from '../../src/domain/lifecycle.js';
import { startRuntime } from '../../src/domain/start.js';
import { openDatabase, type PostgresHandle } from '../../src/infra/db/client.js';
import { migrateDatabase, MIGRATION_LOCK } from '../../src/infra/db/migrate.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { IMAGE, world as fakeWorld } from '../fakes/world.js';
import { createTestDatabase, createTestPglite } from '../support/db.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';
import { testApp } from '../support/test-app.js';

const TIMEOUT_MS = 500;
/** What a loaded two-core machine may add to the deadline before the answer is seen. */
const SLACK_MS = 2_500;
const LABELLED = 'galaxy-test-engine:labelled';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A second session, as an operator's psql would be, holding `tables` locked in an open transaction until `release()`. */
async function lockTables(url: string, tables: string): Promise<{ release(): Promise<void> }> {
  const handle = (await openDatabase(url, { dataDir: '' })) as PostgresHandle;
  // A pool of one is one session (client.ts: nothing reserves).
  const session = handle.openUnbounded(1);
  await session`begin`;
  await session.unsafe(`lock table ${tables} in access exclusive mode`);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await session`rollback`;
    await session.end({ timeout: 5 });
    await handle.close();
  };
  cleanups.push(release);
  return { release };
}

/** The real world's deps, with the database ports on a handle bounded by TIMEOUT_MS (as the composition root builds them). */
async function boundedWorld(): Promise<{ w: RealWorld; deps: LifecycleDeps; records: PostgresRuntimeRecordStore; operations: PostgresOperationLog }> {
  const w = await realWorld();
  cleanups.push(() => w.cleanup());
  const bounded = await openDatabase(w.database.url, { dataDir: '', statementTimeoutMs: TIMEOUT_MS });
  cleanups.push(() => bounded.close());
  const records = new PostgresRuntimeRecordStore(bounded.db, bounded.deadline);
  const operations = new PostgresOperationLog(bounded.db, bounded.deadline);
  return { w, deps: { ...w.deps, records, operations }, records, operations };
}

async function timed<T>(work: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const began = performance.now();
  const value = await work();
  return { value, ms: performance.now() - began };
}

/** The lease is free: another holder gets it at once (and gives it back). */
async function expectLeaseFree(deps: LifecycleDeps, gameId: string): Promise<void> {
  const fence = await deps.leases.tryAcquire(gameId, 'probe', 5_000);
  expect(fence).toEqual(expect.any(Number));
  await deps.leases.release(gameId, 'probe');
}

describe('Postgres: a locked runtime_records table', () => {
  it('a start fails at load_record with a retryable service_unavailable within about the deadline, its lease free and its audit row written', async () => {
    const { w, deps, operations } = await boundedWorld();
    const gameId = w.gameId('locked-load');
    const lock = await lockTables(w.database.url, 'runtime_records');

    const { value: result, ms } = await timed(() => startRuntime(deps, { gameId, imageRef: LABELLED, opSource: 'gm_rest', sourceRef: 'it' }));
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'service_unavailable',
      // The server's cancel, not the client's own bound: the statement is rolled back for certain.
      errorMessage: expect.stringMatching(
        /^load_record: database load runtime record did not finish within 500 ms: canceling statement due to (statement|lock) timeout \(SQLSTATE (57014|55P03)\)$/,
      ) as string,
      record: null,
      retryable: true,
    });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    await expectLeaseFree(deps, gameId);
    expect(await w.containersOf(gameId)).toEqual([]);
    // The audit table was not locked: the failure is on record while the lock still holds.
    expect(await operations.listByGame(gameId, 5)).toMatchObject([{ opKind: 'start', outcome: 'failure', errorCode: 'service_unavailable' }]);
    expect(await w.streamEntries(w.streams.intents)).toEqual([]);
    await lock.release();
  });

  it('a lock taken while the container runs: upsert_record fails the same way and the container is rolled back', async () => {
    const { w, deps } = await boundedWorld();
    const gameId = w.gameId('locked-upsert');
    let lock: { release(): Promise<void> } | null = null;
    const hooks: LifecycleHooks = {
      onStep: async (step) => {
        if (step === 'upsert_record') lock = await lockTables(w.database.url, 'runtime_records');
      },
    };
    const result = await startRuntime(deps, { gameId, imageRef: LABELLED, opSource: 'gm_rest', sourceRef: 'it' }, hooks);
    expect(lock).not.toBeNull();
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'service_unavailable', retryable: true });
    expect(result.errorMessage).toMatch(/^upsert_record: database write runtime record did not finish within 500 ms: .*SQLSTATE (57014|55P03)/);
    expect(await w.containersOf(gameId)).toEqual([]);
    await expectLeaseFree(deps, gameId);
    await lock!.release();
    // Nothing was written: the server's cancel rolled the statement back.
    expect(await w.records.get(gameId)).toBeNull();
  });

  it('HTTP reads of records, operations and the poll answer 503 service_unavailable within about the deadline', async () => {
    const database = await createTestDatabase({ statementTimeoutMs: TIMEOUT_MS });
    cleanups.push(() => database.close());
    const records = new PostgresRuntimeRecordStore(database.db, database.handle.deadline);
    const operations = new PostgresOperationLog(database.db, database.handle.deadline);
    // The poll reads the audit trail first, then the record: give it a row to find.
    await operations.append({
      gameId: 'g-1',
      opKind: 'start',
      opSource: 'gm_rest',
      sourceRef: 'it',
      imageRef: LABELLED,
      imageDigest: null,
      containerId: 'c-1',
      outcome: 'success',
      errorCode: '',
      errorMessage: '',
      startedAt: new Date(),
      finishedAt: new Date(),
      exitCode: null,
    });
    const { call } = testApp({ records, operations });
    const lock = await lockTables(database.url, 'runtime_records');

    for (const path of ['/api/v1/internal/runtimes/g-1', '/api/v1/internal/runtimes', '/api/v1/internal/runtimes/g-1/start']) {
      const { value: res, ms } = await timed(() => call('GET', path));
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(await res.json()).toEqual({ error: { code: 'service_unavailable', message: expect.stringMatching(/did not finish within 500 ms/) as string } });
      expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    await lock.release();
    expect((await call('GET', '/api/v1/internal/runtimes/g-1/start')).status).toBe(200);
  });
});

describe('Postgres: a server that stops answering (a partition)', () => {
  it('a call is given up by the client shortly after the deadline, though the server never cancels it', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.close());
    const target = new URL(database.url);
    // A TCP relay that goes silent on demand: what the client sends after that never reaches the server.
    let silent = false;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const server = net.connect(Number(target.port), target.hostname);
      for (const socket of [client, server]) {
        sockets.add(socket);
        socket.on('close', () => (client.destroy(), server.destroy())).on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => {
        if (!silent) server.write(chunk);
      });
      server.pipe(client);
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const viaRelay = new URL(database.url);
    viaRelay.host = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    const handle = await openDatabase(viaRelay.toString(), { dataDir: '', statementTimeoutMs: TIMEOUT_MS });
    cleanups.push(() => handle.close().catch(() => undefined));
    // Run first: with the relay's sockets gone the handle closes at once instead of waiting for an answer.
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => relay.close(resolve));
    });
    const records = new PostgresRuntimeRecordStore(handle.db, handle.deadline);
    expect(await records.get('g-1')).toBeNull();

    silent = true;
    const began = performance.now();
    const error: unknown = await records.get('g-1').catch((e: unknown) => e);
    const ms = performance.now() - began;
    expect(isDatabaseDeadline(error)).toBe(true);
    // The server's cancel was due at 500 ms; the client waits a second more for it (client.ts).
    expect((error as Error).message).toBe('database load runtime record did not finish within 500 ms: no answer after 1500 ms');
    expect(ms).toBeGreaterThanOrEqual(1_490);
    expect(ms).toBeLessThan(1_500 + SLACK_MS);
  });
});

describe('Postgres: migrations at boot are not bounded by the statement timeout', () => {
  it("waits for another process's migration (its advisory lock) longer than the timeout, then finds the schema current", async () => {
    const database = await createTestDatabase({ statementTimeoutMs: 200 });
    cleanups.push(() => database.close());
    const peer = (await openDatabase(database.url, { dataDir: '' })) as PostgresHandle;
    cleanups.push(() => peer.close());
    const session = peer.openUnbounded(1);
    cleanups.push(() => session.end({ timeout: 5 }));
    await session`select pg_advisory_lock(hashtext(${MIGRATION_LOCK}))`;
    const handle = database.handle as PostgresHandle;
    // The handle's own sessions would give up waiting for that lock at 200 ms…
    await expect(handle.client`select pg_advisory_lock(hashtext(${MIGRATION_LOCK}))`).rejects.toMatchObject({
      code: expect.stringMatching(/^(57014|55P03)$/) as string,
    });
    // postgres.js sends a query only once it is awaited or executed.
    setTimeout(() => void session`select pg_advisory_unlock(hashtext(${MIGRATION_LOCK}))`.execute(), 1_000);

    // …the migrator's wait as long as the other process migrates.
    const { ms } = await timed(() => migrateDatabase(handle));
    expect(ms).toBeGreaterThanOrEqual(900);
  });
});

describe('PGlite: its one connection held by an open transaction', () => {
  async function heldPglite() {
    const database = await createTestPglite({ statementTimeoutMs: TIMEOUT_MS });
    cleanups.push(() => database.close());
    let release = (): void => undefined;
    const holding = new Promise<void>((resolve) => (release = resolve));
    const transaction = database.handle.client.transaction(async (tx) => {
      await tx.query('lock table runtime_records in access exclusive mode');
      await holding;
    });
    // Ends the transaction even when the test fails half-way.
    cleanups.unshift(async () => (release(), await transaction));
    return { database, release: async () => (release(), await transaction) };
  }

  it('a start with Docker faked fails retryable service_unavailable, lease free; its audit row lands once the connection is free', async () => {
    const { database, release } = await heldPglite();
    const w = fakeWorld();
    const operations = new PostgresOperationLog(database.db, database.handle.deadline);
    const deps: LifecycleDeps = { ...w.deps, records: new PostgresRuntimeRecordStore(database.db, database.handle.deadline), operations };

    const { value: result, ms } = await timed(() => startRuntime(deps, { gameId: 'g-1', imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'it' }));
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'service_unavailable',
      // PGlite's statement_timeout never fires: the client's bound (no grace there) is what ends the wait.
      errorMessage: 'load_record: database load runtime record did not finish within 500 ms: no answer after 500 ms',
      record: null,
      retryable: true,
    });
    // load_record, then the audit append: both wait for the one connection, each for the deadline.
    expect(ms).toBeGreaterThanOrEqual(2 * TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(2 * TIMEOUT_MS + SLACK_MS);
    expect(w.leases.held.size).toBe(0);
    expect(w.notifications.published).toEqual([]);
    expect(w.docker.containers.size).toBe(0);

    await release();
    // The append given up on was not cancelled (PGlite cannot): it ran once the connection was free.
    await expect.poll(() => operations.listByGame('g-1', 5)).toMatchObject([{ outcome: 'failure', errorCode: 'service_unavailable' }]);
  });

  it('an HTTP read answers 503 service_unavailable within about the deadline', async () => {
    const { database, release } = await heldPglite();
    const { call } = testApp({
      records: new PostgresRuntimeRecordStore(database.db, database.handle.deadline),
      operations: new PostgresOperationLog(database.db, database.handle.deadline),
    });
    const { value: res, ms } = await timed(() => call('GET', '/api/v1/internal/runtimes/g-1'));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { code: 'service_unavailable', message: 'database load runtime record did not finish within 500 ms: no answer after 500 ms' },
    });
    expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    await release();
    expect((await call('GET', '/api/v1/internal/runtimes/g-1')).status).toBe(404);
  });
});
