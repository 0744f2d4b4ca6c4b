/**
 * What operators and probes read without a token: health, readiness and
 * metrics. Mounted by the API app and, alone, by the ops app of a worker or
 * intake process (src/http/ops-app.ts).
 */
import { Hono } from 'hono';
import type { Env } from '../env.js';
import { ANSWERS } from '../answers.js';
import type { ReadinessChecks } from '../readiness.js';
import { checkReadiness } from '../readiness.js';

export interface OpsDeps {
  /** The process's checks by name: `/readyz` is 503 naming each one that fails. */
  readiness: ReadinessChecks;
  metricsText: () => Promise<string>;
}

export function opsRoutes(deps: OpsDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/healthz', (c) => c.json({ status: 'ok' }, ANSWERS.found.status));

  app.get('/readyz', async (c) => {
    const { checks, failing } = await checkReadiness(deps.readiness);
    if (failing.length === 0) return c.json({ status: 'ready', checks }, ANSWERS.found.status);
    const { status, code } = ANSWERS.unavailable;
    return c.json(
      { status: 'not_ready', checks, error: { code, message: `${failing.join(', ')} not ready: ${failing.map((n) => checks[n]).join('; ')}` } },
      status,
    );
  });

  app.get('/metrics', async (c) => c.text(await deps.metricsText(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));

  return app;
}
