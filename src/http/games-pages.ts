/**
 * The games pages (contract §16): `/admin/games`, every game the record
 * store holds, and `/admin/games/{game_id}`, one game with its last
 * operations, a stats reading and a live tail of its engine's output. Beside
 * Bull Board and behind the same guards (dashboard-guards.ts), read-only
 * whatever RTMANAGER_ADMIN_WRITE_ENABLED says: they offer no action at all.
 *
 * The stats reading and the log tail are read by the detail page's script
 * through two routes of its own under /admin, so the browser needs the
 * dashboard's credentials and never the API token; their work is the game
 * window's (GameWindow), which answers as the API's logs and stats endpoints do.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { OperationLog, RuntimeRecordStore } from '../domain/ports.js';
import { RUNTIME_STATUSES, type RuntimeStatus } from '../domain/model.js';
import { fail } from './answers.js';
import type { DashboardLogin } from './dashboard-guards.js';
import { dashboardGuards, foreignOrigin, GAMES_PAGE, readOnly } from './dashboard-guards.js';
import { detailPage, listPage, missingPage } from './games-views.js';
import { gameIdParam } from './schemas.js';

/**
 * A game's engine as the API sees it: answers shaped as
 * `GET /api/v1/internal/runtimes/{game_id}/stats` and `…/logs` answer
 * (statuses, JSON errors, NDJSON or SSE bodies), passed on to the browser as
 * they are.
 */
export interface GameWindow {
  stats(gameId: string): Promise<Response>;
  /** `query`: the page's own (`tail`, `since`, `follow`); `signal` aborts when the browser goes away. */
  logs(gameId: string, query: URLSearchParams, accept: string, signal: AbortSignal): Promise<Response>;
}

export interface GamesPagesDeps {
  records: RuntimeRecordStore;
  operations: OperationLog;
  window: GameWindow;
  login: DashboardLogin;
  /** Games per list page [100]. */
  pageSize?: number;
}

/** The operations the detail page shows, newest first. */
export const RECENT_OPERATIONS = 20;
const PAGE_SIZE = 100;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's Env differs per app; the pages do not care.
export function mountGamesPages(app: Hono<any>, deps: GamesPagesDeps): void {
  const guards = dashboardGuards(deps.login, readOnly('the games pages offer no action'));
  for (const path of [GAMES_PAGE, `${GAMES_PAGE}/*`]) app.use(path, ...guards);

  app.get(GAMES_PAGE, async (c) => {
    const status = RUNTIME_STATUSES.find((s) => s === c.req.query('status'));
    const after = c.req.query('after')?.slice(0, 64) ?? null;
    const page = await deps.records.list({ limit: deps.pageSize ?? PAGE_SIZE, cursor: after, ...(status ? { status } : {}) });
    return htmlPage(c, (nonce) =>
      listPage({ records: page.records, next: page.nextCursor && listUrl(status, page.nextCursor), status, paged: after !== null, nonce }),
    );
  });

  app.get(`${GAMES_PAGE}/:game_id`, async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    const record = gameId.success ? await deps.records.get(gameId.data) : null;
    if (!gameId.success || !record) return htmlPage(c, (nonce) => missingPage(c.req.param('game_id'), nonce), 404);
    const operations = await deps.operations.listByGame(record.gameId, RECENT_OPERATIONS);
    return htmlPage(c, (nonce) => detailPage({ record, operations, nonce, base: `${GAMES_PAGE}/${encodeURIComponent(record.gameId)}` }));
  });

  app.get(`${GAMES_PAGE}/:game_id/stats`, ownPageOnly, async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return fail(c, 'not_found', 'no such game');
    return passOn(await deps.window.stats(gameId.data));
  });

  app.get(`${GAMES_PAGE}/:game_id/logs`, ownPageOnly, async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return fail(c, 'not_found', 'no such game');
    const query = new URL(c.req.url).searchParams;
    return passOn(await deps.window.logs(gameId.data, query, c.req.header('accept') ?? '', c.req.raw.signal));
  });
}

const listUrl = (status: RuntimeStatus | undefined, after: string) =>
  `${GAMES_PAGE}?${new URLSearchParams({ ...(status ? { status } : {}), after }).toString()}`;

/**
 * An HTML page whose script and style run by a nonce of this response alone:
 * text that slipped past the escaping (an image ref, an error message, an
 * engine's output) could not run a script of its own nor reach another origin.
 */
async function htmlPage(c: Context, render: (nonce: string) => Promise<string> | string, status: 200 | 404 = 200): Promise<Response> {
  const nonce = randomBytes(16).toString('base64');
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`,
  );
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'same-origin');
  return c.html(await render(nonce), status);
}

/**
 * The page's own script only: a read that another site's page makes riding
 * the operator's cached credentials (an EventSource, a fetch, an `<img>`)
 * names its origin or, in every current browser, `Sec-Fetch-Site`. Each log
 * follower holds a connection to Docker, so not even a blind one is granted.
 */
const ownPageOnly: MiddlewareHandler = async (c, next) => {
  const foreign = foreignOrigin(c);
  if (foreign) return fail(c, 'forbidden', `the games pages' reads must come from ${foreign}`);
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return fail(c, 'forbidden', `a ${site} read of the games pages`);
  return next();
};

/** The window's answer with headers of our own (a response from fetch has immutable ones), its body streamed as it comes. */
function passOn(answer: Response): Response {
  const headers = new Headers(answer.headers);
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  headers.set('Cache-Control', 'no-store');
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers });
}
