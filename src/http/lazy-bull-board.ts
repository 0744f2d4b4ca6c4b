/**
 * Bull Board (bull-board.ts) loaded at its first request, not at boot: its
 * packages cost the web process about 20 MB resident for a page an operator
 * opens now and then. Its own guards (basic auth, read-only, origin) run
 * inside the board's app, so nothing reaches it unguarded.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { BoardAccess, BoardQueue } from './bull-board.js';
import { BULL_BOARD_BASE } from './dashboard-guards.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's Env differs per app; the board does not care.
export function mountBullBoardLazily(app: Hono<any>, queues: BoardQueue[], access: BoardAccess): void {
  let board: Promise<Hono> | undefined;
  const load = async () => {
    const { mountBullBoard } = await import('./bull-board.js');
    // As the main app (app.ts): `/admin/queues/` is the board too.
    const boardApp = new Hono({ strict: false });
    mountBullBoard(boardApp, queues, access);
    return boardApp;
  };
  const serve = async (c: Context) => {
    board ??= load().catch((error: unknown) => {
      board = undefined;
      throw error;
    });
    return (await board).fetch(c.req.raw, c.env);
  };
  for (const path of [BULL_BOARD_BASE, `${BULL_BOARD_BASE}/*`]) app.all(path, serve);
}
