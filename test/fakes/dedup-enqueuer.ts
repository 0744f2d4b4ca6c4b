/**
 * An in-memory enqueuer that honours the dedup-aware enqueue contract
 * (test/contracts/dedup-enqueue.contract.ts): one pending job per kind and
 * game (join on the same image, conflict on another), and the entry ids and
 * request ids it accepted per game, forgotten after the window. Each call is
 * decided synchronously, as the real enqueuer decides under its per-game
 * mutex. It records every call, for tests that count what reached it.
 */
import type { Clock } from '../../src/domain/ports.js';
import type { IntakeEnqueueOutcome, StreamDedup } from '../../src/jobs/intake.js';
import type { LifecycleKind, LifecyclePayload } from '../../src/jobs/queues.js';

export interface EnqueueCall {
  kind: LifecycleKind;
  payload: LifecyclePayload;
  dedup?: StreamDedup;
  outcome: IntakeEnqueueOutcome;
}

export class FakeDedupEnqueuer {
  readonly calls: EnqueueCall[] = [];
  /** `{kind}/{game}` → the image of its pending job (null for kinds without one). */
  private readonly pending = new Map<string, string | null>();
  /** `{game}/entry|request/{id}` → when it was accepted (ms). */
  private readonly accepted = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  enqueue(kind: LifecycleKind, payload: LifecyclePayload, opts: { dedup?: StreamDedup } = {}): Promise<IntakeEnqueueOutcome> {
    const outcome = this.decide(kind, payload, opts.dedup);
    this.calls.push({ kind, payload, ...(opts.dedup ? { dedup: opts.dedup } : {}), outcome });
    return Promise.resolve(outcome);
  }

  /** The calls that were not duplicates: the operations it accepted or refused. */
  get operations(): EnqueueCall[] {
    return this.calls.filter((c) => c.outcome.kind !== 'duplicate');
  }

  endJobs(gameId: string): void {
    for (const key of [...this.pending.keys()]) if (key.endsWith(`/${gameId}`)) this.pending.delete(key);
  }

  pendingKinds(gameId: string): LifecycleKind[] {
    return [...this.pending.keys()].filter((key) => key.endsWith(`/${gameId}`)).map((key) => key.split('/')[0] as LifecycleKind);
  }

  private decide(kind: LifecycleKind, payload: LifecyclePayload, dedup: StreamDedup | undefined): IntakeEnqueueOutcome {
    const jobId = payload.gameId;
    const now = this.clock.now().getTime();
    const keys = dedup ? [`${jobId}/entry/${dedup.entryId}`, ...(dedup.requestId ? [`${jobId}/request/${dedup.requestId}`] : [])] : [];
    if (keys.some((key) => now - (this.accepted.get(key) ?? -Infinity) < this.windowMs)) return { kind: 'duplicate', jobId };
    const image = 'imageRef' in payload ? payload.imageRef : null;
    const slot = `${kind}/${jobId}`;
    let outcome: IntakeEnqueueOutcome;
    if (this.pending.has(slot)) {
      const pendingImage = this.pending.get(slot) ?? null;
      if (pendingImage !== image) return { kind: 'conflict', pendingImageRef: pendingImage ?? '' };
      outcome = { kind: 'joined', jobId };
    } else {
      this.pending.set(slot, image);
      outcome = { kind: 'enqueued', jobId };
    }
    for (const key of keys) this.accepted.set(key, now);
    return outcome;
  }
}
