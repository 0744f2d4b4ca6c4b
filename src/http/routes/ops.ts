/** What operators and probes read without a token: health, readiness, metrics and the API's own description. */
import { Hono } from 'hono';
import type { AppDeps, Env } from '../app.js';
import { ANSWERS, answerWithin } from '../answers.js';
import { renderDocs } from '../docs-page.js';
import { buildOpenApi } from '../openapi.js';
import { errorMessage } from '../../domain/errors.js';

/** A dependency slower than this is reported as not ready. */
const READINESS_TIMEOUT_MS = 2_000;

export function opsRoutes(deps: Pick<AppDeps, 'readiness' | 'metricsText'>): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/healthz', (c) => c.json({ status: 'ok' }, ANSWERS.found.status));

  app.get('/readyz', async (c) => {
    const names = ['redis', 'postgres', 'docker'] as const;
    const results = await Promise.all(names.map((name) => answerWithin(deps.readiness[name](), READINESS_TIMEOUT_MS).then(() => 'ok', errorMessage)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const failing = names.filter((_, i) => results[i] !== 'ok');
    if (failing.length === 0) return c.json({ status: 'ready', checks }, ANSWERS.found.status);
    const { status, code } = ANSWERS.unavailable;
    return c.json(
      { status: 'not_ready', checks, error: { code, message: `${failing.join(', ')} not ready: ${failing.map((n) => checks[n]).join('; ')}` } },
      status,
    );
  });

  app.get('/metrics', async (c) => c.text(await deps.metricsText(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));

  // Built once: the document depends on the schemas only.
  const openApi = buildOpenApi();
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(renderDocs(openApi)));

  return app;
}
