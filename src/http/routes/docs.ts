/** The API's own description, open like health: the OpenAPI document and a page rendering it. */
import { Hono } from 'hono';
import type { Env } from '../env.js';
import { renderDocs } from '../docs-page.js';
import { buildOpenApi } from '../openapi.js';

export function docsRoutes(): Hono<Env> {
  const app = new Hono<Env>();
  // Built once: the document depends on the schemas only.
  const openApi = buildOpenApi();
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(renderDocs(openApi)));
  return app;
}
