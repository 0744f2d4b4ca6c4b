/**
 * What every page under /admin stands behind (contract §12), the board's
 * and the games pages alike: no other page may frame it (clickjacking), it
 * asks for the dashboard's basic auth (never the API token), and a write
 * passes only the rule its part of the dashboard sets.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { fail } from './answers.js';

/** The games pages beside the board (games-pages.ts), offered in the board's header menu. */
export const GAMES_PAGE = '/admin/games';
/** Bull Board's pages (bull-board.ts, mounted lazily by lazy-bull-board.ts). */
export const BULL_BOARD_BASE = '/admin/queues';

/** The dashboard's credentials (RTMANAGER_ADMIN_USER / RTMANAGER_ADMIN_PASSWORD); none asked with RTMANAGER_AUTH_DISABLED. */
export interface DashboardLogin {
  disabled: boolean;
  adminUser: string;
  adminPassword: string;
}

const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/**
 * What every page under /admin stands behind (contract §12): never framed,
 * the dashboard's basic auth (not the API token), then `writes`: the rule
 * for anything but GET and HEAD.
 */
export function dashboardGuards(login: DashboardLogin, writes: MiddlewareHandler): MiddlewareHandler[] {
  const guards: MiddlewareHandler[] = [notFramed];
  if (!login.disabled) {
    guards.push(
      basicAuth({
        verifyUser: (user, password) => same(user, login.adminUser) && same(password, login.adminPassword),
        realm: 'rtmanager',
      }),
    );
  }
  guards.push(writes);
  return guards;
}

const NOT_FRAMED = "frame-ancestors 'none'";

/**
 * On every dashboard response, the 401s and static files included. A page
 * that states a policy of its own keeps it, behind `frame-ancestors 'none'`
 * (of a directive given twice, the first counts). Said once, though the guard
 * runs twice for a base path (`/admin/queues` matches `/admin/queues/*` too).
 */
const notFramed: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('X-Frame-Options', 'DENY');
  const own = c.res.headers.get('Content-Security-Policy');
  if (!own?.startsWith(NOT_FRAMED)) c.res.headers.set('Content-Security-Policy', own ? `${NOT_FRAMED}; ${own}` : NOT_FRAMED);
};

export const isRead = (method: string) => method === 'GET' || method === 'HEAD';

/** `why`: what makes this part of the dashboard read-only, told in the 403. */
export const readOnly =
  (why: string): MiddlewareHandler =>
  async (c, next) => {
    if (isRead(c.req.method)) return next();
    return fail(c, 'forbidden', `the dashboard is read-only (${why})`);
  };

/**
 * Why a request's named origin is not the dashboard's own, or undefined when
 * it names none or the same. The own is the request's scheme://host[:port];
 * browsers send Origin on every write and every cross-origin fetch, and
 * "null" from sandboxes and files.
 */
export function foreignOrigin(c: Context): string | undefined {
  const origin = c.req.header('origin');
  const own = new URL(c.req.url).origin;
  if (origin === undefined || origin === own) return undefined;
  return `the dashboard's origin ${own} (got ${JSON.stringify(origin.slice(0, 200))})`;
}
