import { describe, expect, it } from 'vitest';
import type { StateDirectories } from '../../src/domain/ports.js';

export interface StateDirectoriesSubject {
  port: StateDirectories;
  root: string;
  /** What exists on disk below the root (the fake answers from memory). */
  entries(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export function describeStateDirectoriesContract(name: string, make: () => Promise<StateDirectoriesSubject>): void {
  describe(`StateDirectories contract: ${name}`, () => {
    it('prepares {root}/{game_id} and returns its absolute path, idempotently', async () => {
      const s = await make();
      try {
        expect(await s.port.prepare('g-1')).toBe(`${s.root}/g-1`);
        expect(await s.port.prepare('g-1')).toBe(`${s.root}/g-1`);
        expect(await s.entries()).toContain('g-1');
      } finally {
        await s.cleanup();
      }
    });

    // Only a valid game id names a directory: nothing else can escape the root
    // or alias another game's directory.
    it.each(['..', '.', '', '../escape', 'a/b', 'a\\b', '/abs', 'g-1/../../x', 'a\0b', 'dot.dir'])('refuses %j', async (gameId) => {
      const s = await make();
      try {
        await expect(s.port.prepare(gameId)).rejects.toThrow(/^refused state directory/);
        expect(await s.entries()).toEqual([]);
      } finally {
        await s.cleanup();
      }
    });
  });
}
