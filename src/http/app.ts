/**
 * The HTTP API of contract §5 (and §16's logs), assembled from its route modules (routes/):
 * request ids and the access log around everything, our error shape for
 * whatever throws, the bearer check in front of /api/v1/internal/*.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Logger } from '../domain/ports.js';
import { fail, httpExceptionToJson } from './answers.js';
import { bearerGuard } from './auth.js';
import type { Env } from './env.js';
import { docsRoutes } from './routes/docs.js';
import type { EventRouteDeps } from './routes/events.js';
import { eventRoutes } from './routes/events.js';
import type { LifecycleRouteDeps } from './routes/lifecycle.js';
import { lifecycleRoutes } from './routes/lifecycle.js';
import type { LogRouteDeps } from './routes/logs.js';
import { logRoutes } from './routes/logs.js';
import type { OpsDeps } from './routes/ops.js';
import { opsRoutes } from './routes/ops.js';
import type { RecordRouteDeps } from './routes/records.js';
import { recordRoutes } from './routes/records.js';
import type { StatsRouteDeps } from './routes/stats.js';
import { statsRoutes } from './routes/stats.js';

/**
 * What the API needs: each route module's own deps (its readiness checks are
 * Redis, Postgres and Docker; in `all` mode the worker's and the intake's too),
 * and what the app itself adds around them.
 */
export interface AppDeps extends OpsDeps, LifecycleRouteDeps, RecordRouteDeps, StatsRouteDeps, EventRouteDeps, LogRouteDeps {
  auth: { disabled: boolean; apiToken: string; adminUser: string; adminPassword: string };
  logger: Logger;
  bullBoard?: (app: Hono<Env>) => void;
  /** Mounts the games pages beside the board (games-pages.ts). */
  gamesPages?: (app: Hono<Env>) => void;
}

const API = '/api/v1/internal';

/** A caller's request id is kept when it is this safe: it becomes the default source_ref of an audit row. */
const GIVEN_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>({ strict: false });

  // Hono's own check of a given id (up to 255 of [\w=-]) differs from ours, so
  // it reads no header itself: our generator keeps the caller's id or makes one.
  app.use(
    requestId({
      headerName: '',
      generator: (c) => {
        const given = c.req.header('x-request-id');
        return given && GIVEN_REQUEST_ID.test(given) ? given : randomUUID();
      },
    }),
  );
  app.use(async (c, next) => {
    // On node, on the socket's response itself: c.header would make every answer build a WHATWG
    // Headers, which node-server then has to copy out again (a few per cent of the CPU a request).
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (outgoing) outgoing.setHeader('X-Request-Id', c.get('requestId'));
    else c.header('X-Request-Id', c.get('requestId'));
    const began = performance.now();
    await next();
    deps.logger.info(
      { request_id: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - began) },
      'http request',
    );
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) return httpExceptionToJson(error);
    deps.logger.error({ request_id: c.get('requestId'), err: error.message }, 'http handler failed');
    return fail(c, 'unavailable', error.message);
  });
  app.notFound((c) => fail(c, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  app.route('/', opsRoutes(deps));
  app.route('/', docsRoutes());
  app.use(`${API}/*`, bearerGuard(deps.auth));
  app.route(API, lifecycleRoutes(deps, API));
  app.route(API, recordRoutes(deps));
  app.route(API, statsRoutes(deps));
  app.route(API, eventRoutes(deps));
  app.route(API, logRoutes(deps));

  deps.bullBoard?.(app);
  deps.gamesPages?.(app);
  return app;
}
