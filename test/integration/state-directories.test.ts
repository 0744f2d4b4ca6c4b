import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
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
    plant: async (gameId, kind) => void (await plant(parent, root, gameId, kind)),
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
});

/** A symbolic link from `{root}/{gameId}` to `{parent}/elsewhere` (mode 0700, a file inside), or a file there; answers the link's target or the file. */
async function plant(parent: string, root: string, gameId: string, kind: 'symlink' | 'file'): Promise<string> {
  await mkdir(root, { recursive: true });
  const at = path.join(root, gameId);
  if (kind === 'file') {
    await writeFile(at, 'not a directory');
    return at;
  }
  const target = path.join(parent, 'elsewhere');
  await mkdir(target, { mode: 0o700 });
  await chmod(target, 0o700);
  await writeFile(path.join(target, 'secret'), 'host data');
  await symlink(target, at);
  return target;
}

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

  // What the refusal protects: nothing at the path, or behind a link there, is chmodded, chowned or written.
  it.each(['symlink', 'file'] as const)('leaves a planted %s, and what it points to, as they were', async (kind) => {
    const { parent, root } = await tempRoot();
    try {
      const watched = await plant(parent, root, 'g-planted', kind);
      const before = await stat(watched);
      await expect(new FsStateDirectories({ root, mode: 0o777, uid: 4242, gid: 4343 }).prepare('g-planted')).rejects.toThrow(/^refused state directory/);
      const after = await stat(watched);
      expect([after.mode, after.uid, after.gid]).toEqual([before.mode, before.uid, before.gid]);
      expect((await lstat(path.join(root, 'g-planted'))).isSymbolicLink()).toBe(kind === 'symlink');
      expect(await readFile(kind === 'file' ? watched : path.join(watched, 'secret'), 'utf8')).toBe(kind === 'file' ? 'not a directory' : 'host data');
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
