/**
 * Contract §3. The game id becomes a directory under the state root, a
 * container name and hostname (`galaxy-game-{id}`, ≤ 64 chars), a Redis key
 * and a BullMQ job id: no `/`, `.` or `:`, never integer-like at the start of
 * a job id (the leading character may be a digit, but BullMQ refuses ids that
 * are whole integers, so those are refused here too).
 */
export const GAME_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$/;
export const GAME_ID_PATTERN_SOURCE = '^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$';

export function gameIdProblem(gameId: string): string | null {
  if (gameId.trim() === '') return 'game id must not be empty';
  if (!GAME_ID_PATTERN.test(gameId)) return `game id ${JSON.stringify(gameId.slice(0, 80))} must match ${GAME_ID_PATTERN_SOURCE}`;
  // BullMQ refuses integer-like custom ids, and the job id is the game id.
  if (/^[0-9]+$/.test(gameId)) return `game id ${JSON.stringify(gameId)} must not be all digits`;
  return null;
}

export function isValidGameId(gameId: string): boolean {
  return gameIdProblem(gameId) === null;
}
