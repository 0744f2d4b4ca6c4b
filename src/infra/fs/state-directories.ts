import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { gameIdProblem } from '../../domain/game-id.js';
import type { StateDirectories } from '../../domain/ports.js';

export interface StateDirectorySettings {
  /** Absolute host directory holding one sub-directory per game. */
  root: string;
  mode: number;
  uid: number;
  gid: number;
}

/**
 * `{root}/{game_id}` with the configured mode and owner. The domain already
 * validated the game id; the containment check here is the second lock on the
 * same door, because this path is bind-mounted read-write into a container.
 *
 * For the same reason the path must be a real directory. A symbolic link
 * planted there would have chmod and chown follow it, and the daemon mount
 * whatever it points to into the engine; a file is no directory to mount.
 * Either is refused, and nothing at the path or behind it is changed.
 */
export class FsStateDirectories implements StateDirectories {
  private readonly root: string;

  constructor(private readonly settings: StateDirectorySettings) {
    this.root = path.resolve(settings.root);
  }

  async prepare(gameId: string): Promise<string> {
    const problem = gameIdProblem(gameId);
    if (problem) throw new Error(`refused state directory for ${JSON.stringify(gameId)}: ${problem}`);
    const dir = path.resolve(this.root, gameId);
    if (path.dirname(dir) !== this.root || path.basename(dir) !== gameId) {
      throw new Error(`refused state directory for ${JSON.stringify(gameId)}: it would escape ${this.root}`);
    }
    await mkdir(this.root, { recursive: true, mode: this.settings.mode });
    try {
      await mkdir(dir, { mode: this.settings.mode });
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') throw error;
    }
    // Changed through a handle opened without following links: what is
    // changed is the directory itself, even were the path swapped meanwhile.
    const handle = await this.openDirectory(gameId, dir);
    try {
      // mkdir's mode is masked by the umask and ignored for an existing directory.
      await handle.chmod(this.settings.mode);
      await handle.chown(this.settings.uid, this.settings.gid);
    } finally {
      await handle.close();
    }
    return dir;
  }

  private async openDirectory(gameId: string, dir: string): Promise<FileHandle> {
    try {
      return await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = codeOf(error);
      if (code !== 'ELOOP' && code !== 'ENOTDIR') throw error;
      const kind = (await lstat(dir).catch(() => null))?.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
      throw new Error(`refused state directory for ${JSON.stringify(gameId)}: ${dir} exists and is ${kind}; it must be a real directory`, { cause: error });
    }
  }
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}
