import { chmod, chown, mkdir } from 'node:fs/promises';
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
    await mkdir(dir, { recursive: true, mode: this.settings.mode });
    // mkdir's mode is masked by the umask and ignored for an existing directory.
    await chmod(dir, this.settings.mode);
    await chown(dir, this.settings.uid, this.settings.gid);
    return dir;
  }
}
