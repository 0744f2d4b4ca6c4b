import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm';
import type { OperationEntry, OpKind, OpSource, Outcome, StoredOperationEntry } from '../../domain/model.js';
import type { OperationLog } from '../../domain/ports.js';
import type { Database } from './client.js';
import { type CallDeadline, withinDeadline } from './deadline.js';
import { operationLog } from './schema.js';

type Row = typeof operationLog.$inferSelect;

export class PostgresOperationLog implements OperationLog {
  /** `deadline`: the handle's (client.ts); each call past it throws DatabaseDeadlineExceeded. */
  constructor(
    private readonly db: Database,
    private readonly deadline: CallDeadline | null = null,
  ) {
    if (!db) throw new Error('PostgresOperationLog: db is required');
  }

  async append(entry: OperationEntry): Promise<number> {
    const [inserted] = await withinDeadline('append operation log', this.deadline, () =>
      this.db
        .insert(operationLog)
        .values({
          gameId: entry.gameId,
          opKind: entry.opKind,
          opSource: entry.opSource,
          sourceRef: entry.sourceRef,
          imageRef: entry.imageRef,
          imageDigest: entry.imageDigest,
          containerId: entry.containerId,
          outcome: entry.outcome,
          errorCode: entry.errorCode,
          errorMessage: entry.errorMessage,
          startedAt: entry.startedAt,
          finishedAt: entry.finishedAt,
          exitCode: entry.exitCode,
        })
        .returning({ id: operationLog.id }),
    );
    if (!inserted) throw new Error('operation_log insert returned no id');
    return inserted.id;
  }

  /** Newest first by id (insertion order), not by time: clocks of different processes may disagree. */
  async listByGame(gameId: string, limit: number, opKind?: OpKind): Promise<StoredOperationEntry[]> {
    const rows = await withinDeadline('read operation log', this.deadline, () =>
      this.db
        .select()
        .from(operationLog)
        .where(opKind ? and(eq(operationLog.gameId, gameId), eq(operationLog.opKind, opKind)) : eq(operationLog.gameId, gameId))
        .orderBy(desc(operationLog.id))
        .limit(limit),
    );
    return rows.map(toEntry);
  }

  /**
   * One statement deleting the oldest `limit` rows, found through the
   * `finished_at` index: its locks last as long as those rows take to
   * delete, never as long as the whole backlog.
   */
  async deleteOlderThan(before: Date, limit: number): Promise<number> {
    const oldest = this.db
      .select({ id: operationLog.id })
      .from(operationLog)
      .where(lt(operationLog.finishedAt, before))
      .orderBy(asc(operationLog.finishedAt))
      .limit(limit);
    const deleted = await withinDeadline('prune operation log', this.deadline, () =>
      this.db.delete(operationLog).where(inArray(operationLog.id, oldest)).returning({ id: operationLog.id }),
    );
    return deleted.length;
  }
}

function toEntry(row: Row): StoredOperationEntry {
  return {
    id: row.id,
    gameId: row.gameId,
    // Rows are written only by append(), from the domain's closed unions.
    opKind: row.opKind as OpKind,
    opSource: row.opSource as OpSource,
    sourceRef: row.sourceRef,
    imageRef: row.imageRef,
    imageDigest: row.imageDigest,
    containerId: row.containerId,
    outcome: row.outcome as Outcome,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    exitCode: row.exitCode,
  };
}
