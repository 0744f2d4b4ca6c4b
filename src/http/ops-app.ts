/**
 * The ops port of a worker or intake process run alone (contract §13):
 * `/healthz`, `/readyz` and `/metrics`, nothing else, no token. The web
 * process serves the same routes on its API port (app.ts).
 */
import { Hono } from 'hono';
import type { Logger } from '../domain/ports.js';
import type { Env } from './env.js';
import { fail } from './answers.js';
import type { OpsDeps } from './routes/ops.js';
import { opsRoutes } from './routes/ops.js';

export function createOpsApp(deps: OpsDeps & { logger: Logger }): Hono<Env> {
  const app = new Hono<Env>({ strict: false });
  app.onError((error, c) => {
    deps.logger.error({ path: c.req.path, err: error.message }, 'ops handler failed');
    return fail(c, 'unavailable', error.message);
  });
  app.notFound((c) => fail(c, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.route('/', opsRoutes(deps));
  return app;
}
