import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealthEvent } from '../../src/domain/model.js';
import type { Database } from '../../src/infra/db/client.js';
import { healthSnapshots, runtimeRecords } from '../../src/infra/db/schema.js';
import { PostgresHealthSnapshots } from '../../src/infra/db/postgres-health-snapshots.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { describeOperationLogContract } from '../contracts/operation-log.contract.js';
import { describeRuntimeRecordStoreContract, sampleRecord } from '../contracts/runtime-record-store.contract.js';
import { createTestDatabase, createTestPglite, type TestDatabase } from '../support/db.js';

/**
 * One database per back end for this file, emptied before each contract test:
 * a fresh database per test would cost a CREATE DATABASE (or a PGlite boot)
 * each time for no added isolation, since tests in a file run one at a time.
 */
const backends = {
  'postgres.js': lazy(createTestDatabase),
  pglite: lazy(createTestPglite),
};

function lazy(open: () => Promise<TestDatabase>): { get(): Promise<TestDatabase>; close(): Promise<void> } {
  let opened: Promise<TestDatabase> | undefined;
  return {
    get: () => (opened ??= open()),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}

afterAll(async () => {
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

async function emptied(name: keyof typeof backends): Promise<Database> {
  const { db } = await backends[name].get();
  await db.execute(sql`truncate runtime_records, operation_log, health_snapshots restart identity`);
  return db;
}

for (const name of Object.keys(backends) as Array<keyof typeof backends>) {
  describeRuntimeRecordStoreContract(name, async () => ({
    port: new PostgresRuntimeRecordStore(await emptied(name)),
    cleanup: () => Promise.resolve(),
  }));

  describeOperationLogContract(name, async () => ({
    port: new PostgresOperationLog(await emptied(name)),
    cleanup: () => Promise.resolve(),
  }));

  describe(`PostgresHealthSnapshots on ${name}`, () => {
    const event = (overrides: Partial<HealthEvent> = {}): HealthEvent => ({
      gameId: 'g-health',
      containerId: 'c-1',
      eventType: 'container_started',
      occurredAt: new Date(Date.UTC(2026, 10, 25, 12, 0, 0, 500)),
      details: { exit_code: null, nested: { oom: false, list: [1, 'two'] } },
      ...overrides,
    });

    it('keeps the last event per game, details as a JSON object', async () => {
      const db = await emptied(name);
      const snapshots = new PostgresHealthSnapshots(db);
      expect(await snapshots.get('g-health')).toBeNull();
      await snapshots.upsert(event());
      expect(await snapshots.get('g-health')).toEqual(event());
      const exited = event({
        eventType: 'container_exited',
        occurredAt: new Date(Date.UTC(2026, 10, 25, 12, 5)),
        details: { exit_code: 137 },
      });
      await snapshots.upsert(exited);
      expect(await snapshots.get('g-health')).toEqual(exited);
      // Through the query builder: `db.execute` answers an array on postgres.js but `{ rows }` on PGlite.
      const stored = await db.select({ kind: sql<string>`jsonb_typeof(${healthSnapshots.details})` }).from(healthSnapshots);
      expect(stored).toEqual([{ kind: 'object' }]);
    });

    it('ignores an event older than the snapshot, which a late writer may deliver', async () => {
      const snapshots = new PostgresHealthSnapshots(await emptied(name));
      const newer = event({ eventType: 'container_oom', occurredAt: new Date(Date.UTC(2026, 10, 25, 13)) });
      await snapshots.upsert(newer);
      await snapshots.upsert(event({ eventType: 'container_started', occurredAt: new Date(Date.UTC(2026, 10, 25, 12)) }));
      expect(await snapshots.get('g-health')).toEqual(newer);
      const sameTime = event({ eventType: 'container_disappeared', occurredAt: newer.occurredAt, containerId: 'c-2' });
      await snapshots.upsert(sameTime);
      expect(await snapshots.get('g-health')).toEqual(sameTime);
    });
  });

  describe(`schema guards on ${name}`, () => {
    it('keeps the fence of the writer in lease_fence, a bigint', async () => {
      const db = await emptied(name);
      const store = new PostgresRuntimeRecordStore(db);
      await store.upsert(sampleRecord('g-fence'), 2 ** 53 - 1);
      await store.upsert(sampleRecord('g-fence'), 2 ** 52);
      const stored = await db
        .select({ fence: runtimeRecords.leaseFence, type: sql<string>`pg_typeof(${runtimeRecords.leaseFence})::text` })
        .from(runtimeRecords);
      expect(stored).toEqual([{ fence: 2 ** 53 - 1, type: 'bigint' }]);
    });
    it('refuses a status outside the four of the contract', async () => {
      const store = new PostgresRuntimeRecordStore(await emptied(name));
      const bad = { ...sampleRecord('g-bad'), status: 'paused' } as unknown as Parameters<typeof store.upsert>[0];
      await expect(store.upsert(bad, 1)).rejects.toThrow();
      expect(await store.get('g-bad')).toBeNull();
    });
  });
}

describe('a cluster whose default collation is linguistic (ICU en)', () => {
  it('still pages game ids byte-wise, as the fakes and PGlite do', async () => {
    const icu = await createTestDatabase({ icuLocale: 'en' });
    try {
      const store = new PostgresRuntimeRecordStore(icu.db);
      if (icu.handle.kind !== 'postgres') throw new Error('expected postgres.js');
      const linguistic = await icu.handle.client<Array<{ s: string }>>`select s from unnest(array['a_b', 'a-b', 'B-1', 'a0']) as s order by s`;
      // Guards the test itself: under this locale plain text really does sort differently.
      expect(linguistic.map((r) => r.s)).not.toEqual(['B-1', 'a-b', 'a0', 'a_b']);
      for (const id of ['a_b', 'a-b', 'B-1', 'a0']) await store.upsert(sampleRecord(id), 1);
      const first = await store.list({ limit: 2 });
      expect(first.records.map((r) => r.gameId)).toEqual(['B-1', 'a-b']);
      const second = await store.list({ limit: 2, cursor: first.nextCursor });
      expect(second.records.map((r) => r.gameId)).toEqual(['a0', 'a_b']);
    } finally {
      await icu.close();
    }
  });
});
