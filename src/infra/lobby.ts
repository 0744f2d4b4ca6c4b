import type { LobbyDiagnostics } from '../domain/ports.js';

/**
 * Best-effort GET of the lobby's game record, for the start log only. The
 * domain bounds the wait too; this timeout also frees the socket.
 */
export class HttpLobbyDiagnostics implements LobbyDiagnostics {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 1_000,
  ) {}

  async getGame(gameId: string): Promise<{ status: string; targetEngineVersion?: string }> {
    const url = new URL(`api/v1/internal/games/${encodeURIComponent(gameId)}`, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`lobby answered ${response.status}`);
    const body = (await response.json()) as { status?: unknown; target_engine_version?: unknown };
    return {
      status: typeof body.status === 'string' ? body.status : 'unknown',
      ...(typeof body.target_engine_version === 'string' ? { targetEngineVersion: body.target_engine_version } : {}),
    };
  }
}
