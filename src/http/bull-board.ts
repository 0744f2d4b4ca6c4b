/**
 * Bull Board at /admin/queues behind basic auth (stack-facts: pin both packages to 9.10.1).
 *
 * The board can add, retry, clean, obliterate and pause jobs, and its Hono
 * adapter parses any body as JSON whatever its content type. A text/plain
 * form POST from any web page, riding an operator's cached basic-auth
 * credentials, could therefore add a start-runtime job with an image of the
 * attacker's choice. So (contract §12): read-only unless
 * RTMANAGER_ADMIN_WRITE_ENABLED=true; even then a write must be typed
 * application/json (which no cross-site form can send without a CORS
 * preflight we never grant) and, when the browser names its origin, come
 * from the board's own; and no page may frame the board (clickjacking).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { fail } from './answers.js';

export const BULL_BOARD_BASE = '/admin/queues';

/** What the board reads a queue through; typed from the adapter, since src/http does not import bullmq. */
type BoardQueue = ConstructorParameters<typeof BullMQAdapter>[0];

export interface BoardAccess {
  disabled: boolean;
  adminUser: string;
  adminPassword: string;
  /** RTMANAGER_ADMIN_WRITE_ENABLED */
  writeEnabled: boolean;
}

const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's Env differs per app; the board does not care.
export function mountBullBoard(app: Hono<any>, queues: BoardQueue[], access: BoardAccess): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_BASE);
  // The board's own read-only mode hides the actions and refuses them per queue; the guard below refuses every write regardless.
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !access.writeEnabled })), serverAdapter: adapter });
  const guards: MiddlewareHandler[] = [notFramed];
  if (!access.disabled) {
    guards.push(
      basicAuth({
        verifyUser: (user, password) => same(user, access.adminUser) && same(password, access.adminPassword),
        realm: 'rtmanager',
      }),
    );
  }
  guards.push(access.writeEnabled ? writesFromTheBoardOnly : readOnly);
  if (access.writeEnabled) guards.push(typeTheBoardsWritesAsJson);
  for (const path of [BULL_BOARD_BASE, `${BULL_BOARD_BASE}/*`]) app.use(path, ...guards);
  app.route(BULL_BOARD_BASE, adapter.registerPlugin());
}

/** On every board response, the 401s and static files included. */
const notFramed: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('X-Frame-Options', 'DENY');
  c.res.headers.set('Content-Security-Policy', "frame-ancestors 'none'");
};

const isRead = (method: string) => method === 'GET' || method === 'HEAD';

const readOnly: MiddlewareHandler = async (c, next) => {
  if (isRead(c.req.method)) return next();
  return fail(c, 'forbidden', 'the dashboard is read-only (RTMANAGER_ADMIN_WRITE_ENABLED=false)');
};

const writesFromTheBoardOnly: MiddlewareHandler = async (c, next) => {
  if (isRead(c.req.method)) return next();
  if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
    return fail(c, 'forbidden', 'a dashboard write needs content-type: application/json');
  }
  const origin = c.req.header('origin');
  // The request's own scheme://host[:port]; browsers send Origin on every write, and "null" from sandboxes and files.
  const own = new URL(c.req.url).origin;
  if (origin !== undefined && origin !== own) {
    return fail(c, 'forbidden', `a dashboard write must come from the dashboard's origin ${own} (got ${JSON.stringify(origin.slice(0, 200))})`);
  }
  return next();
};

/**
 * The board's client (axios over XMLHttpRequest) sends its body-less writes
 * (retry, pause, clean…) with no content type, which the guard refuses: with
 * writes enabled, its page gets a script that types them as JSON. Its origin
 * is still checked, so this lets no other page through.
 */
const TYPE_WRITES_AS_JSON = `<script>(()=>{const p=XMLHttpRequest.prototype,open=p.open,header=p.setRequestHeader,send=p.send;\
p.open=function(method,...rest){this.rtmWrite=!/^(GET|HEAD)$/i.test(method);this.rtmTyped=false;return open.call(this,method,...rest)};\
p.setRequestHeader=function(name,value){if(/^content-type$/i.test(name))this.rtmTyped=true;return header.call(this,name,value)};\
p.send=function(body){if(this.rtmWrite&&!this.rtmTyped)header.call(this,'Content-Type','application/json');return send.call(this,body)}})()</script>`;

const typeTheBoardsWritesAsJson: MiddlewareHandler = async (c, next) => {
  await next();
  if (!c.res.headers.get('content-type')?.startsWith('text/html')) return;
  const page = await c.res.text();
  const headers = new Headers(c.res.headers);
  headers.delete('content-length');
  c.res = new Response(page.replace('<head>', `<head>${TYPE_WRITES_AS_JSON}`), { status: c.res.status, headers });
};
