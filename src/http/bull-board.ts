/** Bull Board at /admin/queues behind basic auth (stack-facts: pin both packages to 9.10.1). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';

export const BULL_BOARD_BASE = '/admin/queues';

/** What the board reads a queue through; typed from the adapter, since src/http does not import bullmq. */
type BoardQueue = ConstructorParameters<typeof BullMQAdapter>[0];

const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's Env differs per app; the board does not care.
export function mountBullBoard(app: Hono<any>, queues: BoardQueue[], auth: { disabled: boolean; adminUser: string; adminPassword: string }): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_BASE);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  if (!auth.disabled) {
    const guard = basicAuth({
      verifyUser: (user, password) => same(user, auth.adminUser) && same(password, auth.adminPassword),
      realm: 'rtmanager',
    });
    app.use(BULL_BOARD_BASE, guard);
    app.use(`${BULL_BOARD_BASE}/*`, guard);
  }
  app.route(BULL_BOARD_BASE, adapter.registerPlugin());
}
