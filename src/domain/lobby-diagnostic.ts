/**
 * The start's `lobby_diagnostic` step: what the Lobby service says of the
 * game, logged for whoever reads the start's log. Bounded, never an outcome.
 */
import { errorMessage } from './errors.js';
import type { Operation } from './operation.js';
import { withTimeout } from './timeout.js';

/** Bounds the lobby lookup: a diagnostic must never hold a start up for long. */
const LOBBY_TIMEOUT_MS = 1_000;

export async function fetchLobbyDiagnostic(op: Operation): Promise<void> {
  const lobby = op.deps.lobby;
  if (!lobby) return;
  try {
    const game = await withTimeout(lobby.getGame(op.gameId), LOBBY_TIMEOUT_MS);
    op.log.debug({ step: 'lobby_diagnostic', lobby_status: game.status, lobby_target_engine_version: game.targetEngineVersion }, 'lobby diagnostic fetched');
  } catch (error) {
    op.log.debug({ step: 'lobby_diagnostic', err: errorMessage(error) }, 'lobby diagnostic fetch failed');
  }
}
