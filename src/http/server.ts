/**
 * The HTTP server a role listens with: @hono/node-server on node:http, with
 * deadlines Node leaves loose. By default a client may take 60 s to send its
 * headers, and Node looks for late ones only every 30 s, so a few hundred
 * sockets that send half a request and stall hold the process's sockets for
 * up to a minute and a half each (slowloris).
 */
import type { ServerType } from '@hono/node-server';
import { serve } from '@hono/node-server';
import { MAX_WAIT_SECONDS } from './schemas.js';

/** Contract §12: the request's headers must arrive within this. */
export const HEADERS_TIMEOUT_MS = 10_000;

/**
 * The whole request (headers and body) must arrive within this. Set above the
 * longest `?wait` plus the enqueue deadline, so that even a Node that counted
 * the wait against it would never cut a waiting request short.
 */
const REQUEST_TIMEOUT_MS = (MAX_WAIT_SECONDS + 60) * 1000;

/** How often Node checks both deadlines: a stalled header is closed within HEADERS_TIMEOUT_MS + this. */
const DEADLINE_CHECK_INTERVAL_MS = 1_000;

export function listen(fetch: Parameters<typeof serve>[0]['fetch'], address: { hostname: string; port: number }, onListening?: () => void): ServerType {
  return serve(
    {
      fetch,
      hostname: address.hostname,
      port: address.port,
      serverOptions: {
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS,
      },
    },
    onListening,
  );
}
