/**
 * Contract §12: the bounds of a lifecycle request, whichever door it comes
 * through (HTTP body, stream entry, job payload). One set, so that what a
 * door accepts the worker accepts too: a request that passes the door and
 * fails the job's own parse would be acknowledged and then lost without an
 * audit row.
 *
 * The game id's own grammar (game-id.ts) and the op sources (model.ts) are
 * the rest of it.
 */

export const IMAGE_REF_MAX_LENGTH = 4096;
export const REQUEST_ID_MAX_LENGTH = 256;
export const SOURCE_REF_MAX_LENGTH = 512;

/**
 * A refused request is still recorded (audit row, notification), with the
 * fields it came with. Longer than any valid game id, so a clipped bad id
 * can never pass for another game's; short enough for the operation log's
 * (game_id, id) index, whose entries Postgres caps at about 2.7 kB.
 */
const REFUSED_GAME_ID_KEPT = 128;

export function keptOfRefused(fields: { gameId: string; imageRef: string }): { gameId: string; imageRef: string } {
  return { gameId: clip(fields.gameId, REFUSED_GAME_ID_KEPT), imageRef: clip(fields.imageRef, IMAGE_REF_MAX_LENGTH) };
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
