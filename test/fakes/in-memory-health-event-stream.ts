import type { HealthEvent } from '../../src/domain/model.js';
import type { HealthEventEntry, HealthEvents, HealthEventsFollower, HealthEventsReader } from '../../src/domain/ports.js';

/** `{ms}-{seq}` as two numbers, for ordering. */
function idParts(id: string): [number, number] {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq ?? 0)];
}

function isAfter(id: string, afterId: string): boolean {
  const [a, b] = idParts(id);
  const [c, d] = idParts(afterId);
  return a > c || (a === c && b > d);
}

/**
 * `runtime:health_events` in memory, both ends: published events get entry
 * ids as Redis gives them (`{ms}-{seq}`, increasing), and followers wait for
 * the next publish. `openFollowers` counts the followers not yet closed (the
 * real ones' connections).
 */
export class InMemoryHealthEventStream implements HealthEvents, HealthEventsReader {
  readonly entries: HealthEventEntry[] = [];
  openFollowers = 0;
  failRead: Error | null = null;
  private lastId = '0-0';
  private readonly waiters = new Set<() => void>();

  publish(event: HealthEvent): Promise<void> {
    const [lastMs, lastSeq] = idParts(this.lastId);
    const ms = Math.max(Date.now(), lastMs);
    this.lastId = ms === lastMs ? `${ms}-${lastSeq + 1}` : `${ms}-0`;
    this.entries.push({ id: this.lastId, event: structuredClone(event) });
    for (const wake of [...this.waiters]) wake();
    return Promise.resolve();
  }

  readAfter(afterId: string, count: number): Promise<HealthEventEntry[]> {
    if (this.failRead) return Promise.reject(this.failRead);
    return Promise.resolve(this.after(afterId, count));
  }

  follow(): HealthEventsFollower {
    this.openFollowers += 1;
    let closed = false;
    let cancel: ((error: Error) => void) | null = null;
    return {
      next: (afterId, count, waitMs) => {
        if (closed) return Promise.reject(new Error('the health events follower is closed'));
        const ready = this.after(afterId, count);
        if (ready.length > 0) return Promise.resolve(ready);
        return new Promise<HealthEventEntry[]>((resolve, reject) => {
          const done = () => {
            clearTimeout(timer);
            this.waiters.delete(wake);
            cancel = null;
          };
          const wake = () => {
            done();
            resolve(this.after(afterId, count));
          };
          const timer = setTimeout(wake, waitMs);
          this.waiters.add(wake);
          cancel = (error) => {
            done();
            reject(error);
          };
        });
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.openFollowers -= 1;
        cancel?.(new Error('the health events follower is closed'));
      },
    };
  }

  private after(afterId: string, count: number): HealthEventEntry[] {
    return this.entries
      .filter((e) => isAfter(e.id, afterId))
      .slice(0, count)
      .map((e) => structuredClone(e));
  }
}
