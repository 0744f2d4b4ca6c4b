import type { EngineCrash } from '../../src/domain/model.js';
import type { CrashRestarts } from '../../src/domain/ports.js';

export interface DueCrash {
  gameId: string;
  crash: EngineCrash;
}

/**
 * The CrashRestarts port in memory: each crash is handed to `onDue` once its
 * delay has passed (a real timer), and a crash of a container already
 * waiting is not scheduled twice — as the BullMQ adapter does. `scheduled`
 * keeps every call, for unit tests that look at the delays asked for.
 */
export class TimedCrashRestarts implements CrashRestarts {
  readonly scheduled: Array<DueCrash & { delayMs: number }> = [];
  private readonly waiting = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly onDue: (due: DueCrash) => void = () => undefined) {}

  schedule(gameId: string, crash: EngineCrash, delayMs: number): Promise<void> {
    this.scheduled.push({ gameId, crash: structuredClone(crash), delayMs });
    const key = `${gameId}/${crash.containerId}`;
    if (!this.waiting.has(key)) {
      this.waiting.set(
        key,
        setTimeout(() => {
          this.waiting.delete(key);
          this.onDue({ gameId, crash: structuredClone(crash) });
        }, delayMs),
      );
    }
    return Promise.resolve();
  }

  /** Drops every crash still waiting (a test's end). */
  clear(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }
}
