import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import type { RuntimeHealth, RuntimeRecord, RuntimeStatus } from '../../domain/model.js';
import type { RuntimeRecordPage, RuntimeRecordStore } from '../../domain/ports.js';
import type { Database } from './client.js';
import { type CallDeadline, withinDeadline } from './deadline.js';
import { runtimeRecords } from './schema.js';

type Row = typeof runtimeRecords.$inferSelect;

export class PostgresRuntimeRecordStore implements RuntimeRecordStore {
  /** `deadline`: the handle's (client.ts); each call past it throws DatabaseDeadlineExceeded. */
  constructor(
    private readonly db: Database,
    private readonly deadline: CallDeadline | null = null,
  ) {
    if (!db) throw new Error('PostgresRuntimeRecordStore: db is required');
  }

  async get(gameId: string): Promise<RuntimeRecord | null> {
    const rows = await withinDeadline('load runtime record', this.deadline, () =>
      this.db.select().from(runtimeRecords).where(eq(runtimeRecords.gameId, gameId)).limit(1),
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * The record as given replaces the stored one whole, `created_at` included:
   * the domain owns every field. Fenced (contract §10): the update happens only
   * when the stored `lease_fence` is not above ours, in the same statement, so
   * no check-then-write race; the row RETURNING gives back says whether it did.
   */
  async upsert(record: RuntimeRecord, fence: number): Promise<boolean> {
    const row = toRow(record, fence);
    const { gameId: _key, ...changes } = row;
    const written = await withinDeadline('write runtime record', this.deadline, () =>
      this.db
        .insert(runtimeRecords)
        .values(row)
        .onConflictDoUpdate({
          target: runtimeRecords.gameId,
          set: changes,
          setWhere: sql`${runtimeRecords.leaseFence} <= excluded.lease_fence`,
        })
        .returning({ gameId: runtimeRecords.gameId }),
    );
    return written.length === 1;
  }

  async leaseFence(gameId: string): Promise<number> {
    const rows = await this.db.select({ fence: runtimeRecords.leaseFence }).from(runtimeRecords).where(eq(runtimeRecords.gameId, gameId)).limit(1);
    return rows[0]?.fence ?? 0;
  }

  /** Keyset paging on the primary key (game_id collates "C"), served by the (status, game_id) index when filtered. */
  async list(query: { status?: RuntimeStatus; limit: number; cursor?: string | null }): Promise<RuntimeRecordPage> {
    const conditions: SQL[] = [];
    if (query.status) conditions.push(eq(runtimeRecords.status, query.status));
    if (query.cursor) conditions.push(gt(runtimeRecords.gameId, query.cursor));
    // One row past the page says whether another page exists without a count.
    const rows = await withinDeadline('list runtime records', this.deadline, () =>
      this.db
        .select()
        .from(runtimeRecords)
        .where(and(...conditions))
        .orderBy(asc(runtimeRecords.gameId))
        .limit(query.limit + 1),
    );
    const records = rows.slice(0, query.limit).map(toRecord);
    const last = records.at(-1);
    return { records, nextCursor: rows.length > query.limit && last ? last.gameId : null };
  }
}

function toRow(record: RuntimeRecord, fence: number): Row {
  return {
    gameId: record.gameId,
    status: record.status,
    currentContainerId: record.currentContainerId,
    currentImageRef: record.currentImageRef,
    engineEndpoint: record.engineEndpoint,
    statePath: record.statePath,
    dockerNetwork: record.dockerNetwork,
    startedAt: record.startedAt,
    stoppedAt: record.stoppedAt,
    lastOpAt: record.lastOpAt,
    createdAt: record.createdAt,
    leaseFence: fence,
    currentImageDigest: record.currentImageDigest,
    effectiveCpuQuota: record.effectiveCpuQuota,
    effectiveMemoryBytes: record.effectiveMemoryBytes,
    effectivePidsLimit: record.effectivePidsLimit,
    nodeId: record.nodeId,
    nodeHostname: record.nodeHostname,
    health: record.health,
    restartCount: record.restartCount,
    lastExitCode: record.lastExitCode,
  };
}

/** The fence stays in the table: no reader needs it. */
function toRecord(row: Row): RuntimeRecord {
  return {
    gameId: row.gameId,
    // The table's check constraint admits only the four statuses.
    status: row.status as RuntimeStatus,
    currentContainerId: row.currentContainerId,
    currentImageRef: row.currentImageRef,
    engineEndpoint: row.engineEndpoint,
    statePath: row.statePath,
    dockerNetwork: row.dockerNetwork,
    startedAt: row.startedAt,
    stoppedAt: row.stoppedAt,
    lastOpAt: row.lastOpAt,
    createdAt: row.createdAt,
    currentImageDigest: row.currentImageDigest,
    effectiveCpuQuota: row.effectiveCpuQuota,
    effectiveMemoryBytes: row.effectiveMemoryBytes,
    effectivePidsLimit: row.effectivePidsLimit,
    nodeId: row.nodeId,
    nodeHostname: row.nodeHostname,
    // The table's check constraint admits only the four healths.
    health: row.health as RuntimeHealth,
    restartCount: row.restartCount,
    lastExitCode: row.lastExitCode,
  };
}
