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
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono, MiddlewareHandler } from 'hono';
import { fail } from './answers.js';
import type { DashboardLogin } from './dashboard-guards.js';
import { BULL_BOARD_BASE, dashboardGuards, foreignOrigin, GAMES_PAGE, isRead, readOnly } from './dashboard-guards.js';

/** What the board reads a queue through; typed from the adapter, since src/http does not import bullmq. */
export type BoardQueue = ConstructorParameters<typeof BullMQAdapter>[0];

export interface BoardAccess extends DashboardLogin {
  /** RTMANAGER_ADMIN_WRITE_ENABLED */
  writeEnabled: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's Env differs per app; the board does not care.
export function mountBullBoard(app: Hono<any>, queues: BoardQueue[], access: BoardAccess): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_BASE);
  // The board's own read-only mode hides the actions and refuses them per queue; the guard below refuses every write regardless.
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !access.writeEnabled })),
    serverAdapter: adapter,
    options: { uiConfig: { miscLinks: [{ text: 'Games', url: GAMES_PAGE }] } },
  });
  const guards = dashboardGuards(access, access.writeEnabled ? writesFromTheBoardOnly : readOnly('RTMANAGER_ADMIN_WRITE_ENABLED=false'));
  if (access.writeEnabled) guards.push(typeTheBoardsWritesAsJson);
  for (const path of [BULL_BOARD_BASE, `${BULL_BOARD_BASE}/*`]) app.use(path, ...guards);
  app.route(BULL_BOARD_BASE, adapter.registerPlugin());
}

const writesFromTheBoardOnly: MiddlewareHandler = async (c, next) => {
  if (isRead(c.req.method)) return next();
  if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
    return fail(c, 'forbidden', 'a dashboard write needs content-type: application/json');
  }
  const foreign = foreignOrigin(c);
  if (foreign) return fail(c, 'forbidden', `a dashboard write must come from ${foreign}`);
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
