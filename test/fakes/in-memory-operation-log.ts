import type { OperationEntry, OpKind, StoredOperationEntry } from '../../src/domain/model.js';
import type { OperationLog } from '../../src/domain/ports.js';

export class InMemoryOperationLog implements OperationLog {
  readonly entries: StoredOperationEntry[] = [];
  failAppend: Error | null = null;
  private nextId = 1;

  append(entry: OperationEntry): Promise<number> {
    if (this.failAppend) return Promise.reject(this.failAppend);
    const id = this.nextId++;
    this.entries.push({ ...structuredClone(entry), id });
    return Promise.resolve(id);
  }

  listByGame(gameId: string, limit: number, opKind?: OpKind): Promise<StoredOperationEntry[]> {
    return Promise.resolve(
      this.entries
        .filter((e) => e.gameId === gameId && (opKind ? e.opKind === opKind : true))
        .sort((a, b) => b.id - a.id)
        .slice(0, limit)
        .map((e) => structuredClone(e)),
    );
  }

  deleteOlderThan(before: Date, limit: number): Promise<number> {
    const doomed = new Set(
      this.entries
        .filter((e) => e.finishedAt.getTime() < before.getTime())
        .sort((a, b) => a.finishedAt.getTime() - b.finishedAt.getTime())
        .slice(0, limit),
    );
    const kept = this.entries.filter((e) => !doomed.has(e));
    this.entries.splice(0, this.entries.length, ...kept);
    return Promise.resolve(doomed.size);
  }
}
