import { describe, expect, it } from 'vitest';
import type { StateDirectories } from '../../src/domain/ports.js';

export interface StateDirectoriesSubject {
  port: StateDirectories;
  root: string;
  /** What exists on disk below the root (the fake answers from memory). */
  entries(): Promise<string[]>;
  /** Puts something that is no real directory at `{root}/{gameId}`: a symbolic link to a directory elsewhere, or a file. */
  plant(gameId: string, kind: 'symlink' | 'file'): Promise<void>;
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

    it.each([
      ['symlink', 'a symbolic link'],
      ['file', 'not a directory'],
    ] as const)('refuses a %s at {root}/{game_id}: it is bind-mounted into the engine', async (kind, what) => {
      const s = await make();
      try {
        await s.plant('g-planted', kind);
        await expect(s.port.prepare('g-planted')).rejects.toThrow(
          `refused state directory for "g-planted": ${s.root}/g-planted exists and is ${what}; it must be a real directory`,
        );
        expect(await s.port.prepare('g-other')).toBe(`${s.root}/g-other`);
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
