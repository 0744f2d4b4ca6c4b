import { describe, expect, it } from 'vitest';
import { RunSlots } from '../../src/infra/docker/run-slots.js';

/** A run that ends when told to, and says when it began. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('RunSlots', () => {
  it('lets `size` runs in at once; the rest wait and go in order as slots free', async () => {
    const slots = new RunSlots(2);
    const began: number[] = [];
    const gates = [gate(), gate(), gate(), gate()];
    const runs = gates.map((g, i) =>
      slots.use(async () => {
        began.push(i);
        await g.opened;
        return i;
      }),
    );
    await new Promise((r) => setTimeout(r, 0));
    expect(began).toEqual([0, 1]);
    expect(slots.load).toEqual({ busy: 2, waiting: 2 });
    gates[1]!.open();
    await runs[1];
    await new Promise((r) => setTimeout(r, 0));
    expect(began).toEqual([0, 1, 2]);
    expect(slots.load).toEqual({ busy: 2, waiting: 1 });
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(slots.load).toEqual({ busy: 0, waiting: 0 });
  });

  it('frees the slot of a run that throws, and passes the throw on', async () => {
    const slots = new RunSlots(1);
    await expect(slots.use(() => Promise.reject(new Error('create refused')))).rejects.toThrow('create refused');
    expect(await slots.use(() => Promise.resolve('next'))).toBe('next');
    expect(slots.load).toEqual({ busy: 0, waiting: 0 });
  });

  it('refuses a size that is not a whole number of at least 1', () => {
    expect(() => new RunSlots(0)).toThrow(/not a whole number/);
    expect(() => new RunSlots(1.5)).toThrow(/not a whole number/);
  });
});
