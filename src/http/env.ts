/**
 * The Hono environment every app and route module of src/http shares: what
 * a handler may read from its context (the request id). Its own file, so the
 * route modules need not import the app that mounts them.
 */
import type { RequestIdVariables } from 'hono/request-id';

export type Env = { Variables: RequestIdVariables };
