import { describe, expect, it } from 'vitest';
import { testApp } from '../support/test-app.js';

type Json = Record<string, unknown>;
type Doc = { openapi: string; info: Json; paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };

const app = () => testApp().app;

async function documentOf(hono: ReturnType<typeof app>): Promise<Doc> {
  return (await (await hono.request('/openapi.json')).json()) as Doc;
}

/** Every `$ref` anywhere in the document. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Json)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  it('has the OpenAPI 3.1 top-level shape', async () => {
    const doc = await documentOf(app());
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    for (const [path, methods] of Object.entries(doc.paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      for (const [method, op] of Object.entries(methods)) {
        expect(['get', 'post', 'put', 'patch', 'delete'], `${method} ${path}`).toContain(method);
        expect(Object.keys(op.responses as Json).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          expect(status, `${method} ${path}`).toMatch(/^[1-5]\d\d$/);
          expect(typeof response.description, `${method} ${path} ${status}`).toBe('string');
        }
      }
    }
  });

  it('documents every route the app serves, and nothing it does not', async () => {
    const hono = app();
    const doc = await documentOf(hono);
    // Hono lists middleware as method ALL; the rest are the routes.
    const served = new Set(hono.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    // The dashboard (Bull Board, the games pages) is mounted by the composition root, not by createApp; it is documented all the same.
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, methods]) => (path.startsWith('/admin/') ? [] : Object.keys(methods).map((m) => `${m} ${path}`))),
    );
    expect(documented).toEqual(served);
    expect(served.size).toBe(19);
  });

  it('every $ref resolves inside the document, and every named schema is used', async () => {
    const doc = await documentOf(app());
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    for (const ref of all) {
      expect(ref, ref).toMatch(/^#\/components\/schemas\/\w+$/);
      expect(doc.components.schemas[ref.split('/').at(-1)!], ref).toBeDefined();
    }
    expect(JSON.stringify(doc)).not.toContain('$defs');
    expect(new Set(all.map((r) => r.split('/').at(-1)))).toEqual(new Set(Object.keys(doc.components.schemas)));
  });

  it('declares each path template parameter, and operation ids are unique', async () => {
    const doc = await documentOf(app());
    const ids: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(methods)) {
        ids.push(op.operationId as string);
        const inPath = ((op.parameters ?? []) as Json[]).filter((p) => p.in === 'path');
        expect(inPath.map((p) => p.name)).toEqual(templated);
        expect(inPath.every((p) => p.required === true)).toBe(true);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is generated from the schemas the handlers parse with', async () => {
    const doc = await documentOf(app());
    const start = doc.paths['/api/v1/internal/runtimes/{game_id}/start']!;
    const post = start.post as { parameters: Json[]; requestBody: { content: { 'application/json': { schema: Json } } } };
    expect(post.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', required: ['image_ref'], additionalProperties: false });
    expect(post.parameters).toContainEqual(
      expect.objectContaining({ name: 'wait', in: 'query', schema: expect.objectContaining({ type: 'integer', minimum: 0, maximum: 60 }) }),
    );
    expect(post.parameters).toContainEqual(
      expect.objectContaining({ name: 'game_id', schema: expect.objectContaining({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$' }) }),
    );
    expect(doc.components.schemas.RuntimeRecord?.required).toEqual([
      'game_id',
      'status',
      'current_container_id',
      'current_image_ref',
      'engine_endpoint',
      'state_path',
      'docker_network',
      'started_at',
      'stopped_at',
      'last_op_at',
      'created_at',
      'current_image_digest',
      'effective_cpu_quota',
      'effective_memory_bytes',
      'effective_pids_limit',
      'node_id',
      'node_hostname',
      'health',
      'restart_count',
      'last_exit_code',
    ]);
    // Contract §11: a number, integers, and null for what was never recorded.
    expect(doc.components.schemas.RuntimeRecord?.properties).toMatchObject({
      current_image_digest: { type: ['string', 'null'] },
      effective_cpu_quota: { type: ['number', 'null'] },
      effective_memory_bytes: { anyOf: [expect.objectContaining({ type: 'integer' }), { type: 'null' }] },
      effective_pids_limit: { anyOf: [expect.objectContaining({ type: 'integer' }), { type: 'null' }] },
      // Where the engine runs: null on one engine and once stopped.
      node_id: { type: ['string', 'null'], description: expect.stringContaining('node') as string },
      node_hostname: { type: ['string', 'null'], description: expect.stringContaining('hostname') as string },
      // Contract §15.
      health: { enum: ['healthy', 'unhealthy', 'starting', 'none'] },
      last_exit_code: { anyOf: [expect.objectContaining({ type: 'integer' }), { type: 'null' }] },
    });
    expect(doc.components.schemas.Operation?.required).toContain('exit_code');
    expect(doc.components.schemas.Operation?.required).toContain('image_digest');
    expect(doc.components.schemas.Result?.required).toEqual(['outcome', 'error_code', 'error_message', 'record', 'retryable']);
    // Only an image can clash: stop and restart never answer 409.
    expect(Object.keys((doc.paths['/api/v1/internal/runtimes/{game_id}/stop']!.post as { responses: Json }).responses)).not.toContain('409');
    expect(Object.keys((doc.paths['/api/v1/internal/runtimes/{game_id}/patch']!.post as { responses: Json }).responses)).toContain('409');
  });

  it('documents contract §16: the stats reading and its 409, the events stream with its event JSON, Last-Event-ID and its 503', async () => {
    const doc = await documentOf(app());
    const stats = doc.paths['/api/v1/internal/runtimes/{game_id}/stats']!.get as { responses: Record<string, Json> };
    expect(Object.keys(stats.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '409', '503']));
    expect(doc.components.schemas.EngineStats?.required).toEqual([
      'cpu_percent',
      'memory_bytes',
      'memory_limit_bytes',
      'pids',
      'net_rx_bytes',
      'net_tx_bytes',
      'read_at',
    ]);
    const events = doc.paths['/api/v1/internal/events']!.get as { parameters: Json[]; responses: Record<string, { content?: Record<string, Json> }> };
    expect(events.responses['200']!.content!['text/event-stream']).toEqual({ schema: { $ref: '#/components/schemas/HealthEvent' } });
    expect(doc.components.schemas.HealthEvent?.required).toEqual(['game_id', 'container_id', 'event_type', 'occurred_at_ms', 'details']);
    expect(events.parameters.map((p) => `${p.in as string} ${p.name as string}`)).toEqual(['query game_id', 'query follow', 'header Last-Event-ID']);
    expect(Object.keys(events.responses)).toEqual(expect.arrayContaining(['200', '401', '503']));
  });
});

describe('/docs', () => {
  it('renders every operation, its parameters and the named schemas, without scripts', async () => {
    const hono = app();
    const res = await hono.request('/docs');
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    const doc = await documentOf(hono);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) expect(html).toContain(`<span class="m">${method.toUpperCase()}</span> <code>${path}</code>`);
    }
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`<section id="schema-${name}"><h3>${name}</h3>`);
    expect(html).toContain('<td><code>image_ref</code></td>');
    expect(html).toContain('matching <code>^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$</code>');
    expect(html).toContain('<a href="#schema-Result">Result</a>');
    expect(html).not.toContain('<script');
  });
});
