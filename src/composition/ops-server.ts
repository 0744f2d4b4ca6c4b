/**
 * The ops port of a worker or intake process run alone (contract §13). Boot
 * waits until it listens: a port that is taken stops boot with the variable
 * to change, rather than a worker nobody can see.
 */
import { serve } from '@hono/node-server';
import type { Logger } from '../domain/ports.js';
import { createOpsApp } from '../http/ops-app.js';
import type { OpsDeps } from '../http/routes/ops.js';
import type { Closer } from './infrastructure.js';

export interface OpsPort {
  host: string;
  port: number;
  /** Named in the boot error when the port cannot be opened. */
  variable: string;
}

export async function serveOps(deps: OpsDeps & { logger: Logger }, at: OpsPort): Promise<Closer> {
  const app = createOpsApp(deps);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: at.host, port: at.port }, () => resolve(s));
    s.once('error', (error: Error) => reject(new Error(`${at.variable}: cannot listen on ${at.host}:${at.port}: ${error.message}`)));
  });
  deps.logger.info({ url: `http://${at.host}:${at.port}` }, 'ops port listening');
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // A scraper's keep-alive connection must not hold shutdown up.
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    });
}
