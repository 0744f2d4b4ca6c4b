/**
 * At most `size` container runs of this process at the daemon at once; the
 * rest wait here, in order. A daemon creates containers one after another
 * (about 1.4 a second on the 2-core machine this was measured on), so a
 * burst of 100 sent at once waits in the daemon instead: every call there
 * outlives its deadline, the daemon still carries out each create, and the
 * re-runs add an inspection, a removal and a create apiece — measured, the
 * bench's burst then collapsed (even network inspections took over 30 s).
 * Waiting here is not counted against a Docker call's deadline, which then
 * measures the daemon again; the game's lease is renewed meanwhile.
 */
export class RunSlots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`run slots: ${size} is not a whole number ≥ 1`);
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy < this.size) this.busy++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }

  /** Runs at the daemon now, and runs waiting for a slot. */
  get load(): { busy: number; waiting: number } {
    return { busy: this.busy, waiting: this.waiting.length };
  }
}
