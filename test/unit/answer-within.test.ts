import { describe, expect, it } from 'vitest';
import { answerWithin, DEADLINE_TICK_MS } from '../../src/http/answers.js';

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('answerWithin: one ticker for every pending answer', () => {
  it('passes an answer in time on, and its failure as it is', async () => {
    expect(await answerWithin(after(10, 'ok'), 1_000)).toBe('ok');
    await expect(answerWithin(Promise.reject(new Error('redis down')), 1_000)).rejects.toThrow('redis down');
  });

  it('gives up on a late answer after its deadline, within a tick, each deadline its own', async () => {
    const t = performance.now();
    const short = answerWithin(new Promise(() => undefined), 100);
    const long = answerWithin(after(400, 'late but in time'), 1_000);
    await expect(short).rejects.toThrow('no answer within 100 ms');
    const waited = performance.now() - t;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(100 + DEADLINE_TICK_MS + 100);
    expect(await long).toBe('late but in time');
  });

  it('starts its ticker again after every answer had ended', async () => {
    await answerWithin(Promise.resolve(1), 50);
    await new Promise((resolve) => setTimeout(resolve, DEADLINE_TICK_MS * 3));
    await expect(answerWithin(new Promise(() => undefined), 60)).rejects.toThrow('no answer within 60 ms');
  });
});
