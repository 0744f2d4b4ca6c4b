import type { LobbyDiagnostics } from '../../src/domain/ports.js';

export interface LobbyGame {
  status: string;
  targetEngineVersion?: string;
}

/** The Lobby service in memory: the games it knows, and a switch that makes it fail. */
export class FakeLobbyDiagnostics implements LobbyDiagnostics {
  readonly games = new Map<string, LobbyGame>();
  fail: Error | null = null;

  getGame(gameId: string): Promise<LobbyGame> {
    if (this.fail) return Promise.reject(this.fail);
    const game = this.games.get(gameId);
    // As the real adapter: an unknown game is the lobby's 404, never a made-up status.
    if (!game) return Promise.reject(new Error('lobby answered 404'));
    return Promise.resolve({ ...game });
  }
}
