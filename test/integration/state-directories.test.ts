import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStateDirectories } from '../../src/infra/fs/state-directories.js';
import { describeStateDirectoriesContract } from '../contracts/state-directories.contract.js';

async function tempRoot(): Promise<{ parent: string; root: string }> {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'rtm-state-'));
  return { parent, root: path.join(parent, 'root') };
}

describeStateDirectoriesContract('filesystem', async () => {
  const { parent, root } = await tempRoot();
  return {
    port: new FsStateDirectories({ root, mode: 0o750, uid: process.getuid!(), gid: process.getgid!() }),
    root,
    entries: async () => [...(await readdir(root).catch((): string[] => [])), ...(await readdir(parent)).filter((e) => e !== 'root')],
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
});

describe('FsStateDirectories on disk', () => {
  it('applies the configured mode even over an existing directory and the umask', async () => {
    const { parent, root } = await tempRoot();
    try {
      const dirs = new FsStateDirectories({ root, mode: 0o750, uid: process.getuid!(), gid: process.getgid!() });
      await dirs.prepare('g-mode');
      expect((await stat(path.join(root, 'g-mode'))).mode & 0o777).toBe(0o750);
      const tighter = new FsStateDirectories({ root, mode: 0o700, uid: process.getuid!(), gid: process.getgid!() });
      await tighter.prepare('g-mode');
      expect((await stat(path.join(root, 'g-mode'))).mode & 0o777).toBe(0o700);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('chowns to the configured owner', async () => {
    const { parent, root } = await tempRoot();
    try {
      const dirs = new FsStateDirectories({ root, mode: 0o750, uid: 4242, gid: 4343 });
      await dirs.prepare('g-owner');
      const info = await stat(path.join(root, 'g-owner'));
      expect([info.uid, info.gid]).toEqual([4242, 4343]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
