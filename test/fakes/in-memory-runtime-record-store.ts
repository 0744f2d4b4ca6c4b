import type { RuntimeRecord, RuntimeStatus } from '../../src/domain/model.js';
import type { RuntimeRecordPage, RuntimeRecordStore } from '../../src/domain/ports.js';

export class InMemoryRuntimeRecordStore implements RuntimeRecordStore {
  readonly records = new Map<string, RuntimeRecord>();
  /** The fence each stored record was written with (`lease_fence`). */
  readonly fences = new Map<string, number>();
  /** Set to make the next calls throw, as a database that is down would. */
  failGet: Error | null = null;
  failUpsert: Error | null = null;

  get(gameId: string): Promise<RuntimeRecord | null> {
    if (this.failGet) return Promise.reject(this.failGet);
    const found = this.records.get(gameId);
    return Promise.resolve(found ? structuredClone(found) : null);
  }

  upsert(record: RuntimeRecord, fence: number): Promise<boolean> {
    if (this.failUpsert) return Promise.reject(this.failUpsert);
    if ((this.fences.get(record.gameId) ?? 0) > fence) return Promise.resolve(false);
    this.records.set(record.gameId, structuredClone(record));
    this.fences.set(record.gameId, fence);
    return Promise.resolve(true);
  }

  leaseFence(gameId: string): Promise<number> {
    if (this.failGet) return Promise.reject(this.failGet);
    return Promise.resolve(this.fences.get(gameId) ?? 0);
  }

  list(query: { status?: RuntimeStatus; limit: number; cursor?: string | null }): Promise<RuntimeRecordPage> {
    const sorted = [...this.records.values()]
      .filter((r) => (query.status ? r.status === query.status : true))
      .filter((r) => (query.cursor ? r.gameId > query.cursor : true))
      .sort((a, b) => (a.gameId < b.gameId ? -1 : a.gameId > b.gameId ? 1 : 0));
    const page = sorted.slice(0, query.limit).map((r) => structuredClone(r));
    const last = page.at(-1);
    const nextCursor = sorted.length > query.limit && last ? last.gameId : null;
    return Promise.resolve({ records: page, nextCursor });
  }
}
