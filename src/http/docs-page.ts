/**
 * `/docs`: the OpenAPI document rendered on the server as plain HTML — no
 * script, no CDN (none is reachable from where this runs). Operations with
 * their parameters, bodies and responses, then every named schema.
 */
type Json = Record<string, unknown>;

const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const anchor = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** A one-line type: `string`, `"a" | "b"`, `integer 0…60`, a link to a named schema, `X[]`, `X | null`. */
export function typeSummary(schema: Json | undefined): string {
  if (!schema || Object.keys(schema).length === 0) return 'any';
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return `<a href="#schema-${anchor(name)}">${escape(name)}</a>`;
  }
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Json[]).map(typeSummary).join(' | ');
  if (Array.isArray(schema.enum)) return (schema.enum as unknown[]).map((v) => `<code>${escape(JSON.stringify(v))}</code>`).join(' | ');
  if (schema.type === 'array') return `${typeSummary(schema.items as Json | undefined)}[]`;
  const parts = [escape(str(schema.type) || 'object')];
  if (typeof schema.pattern === 'string') parts.push(`matching <code>${escape(schema.pattern)}</code>`);
  // zod states integer bounds as ±2^53−1 when none were given: not worth showing.
  const shown = (n: unknown): n is number => typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  if (shown(schema.minimum)) parts.push(`≥ ${schema.minimum}`);
  if (shown(schema.maximum)) parts.push(`≤ ${schema.maximum}`);
  if (shown(schema.minLength) || shown(schema.maxLength))
    parts.push(`of ${shown(schema.minLength) ? schema.minLength : 0}…${shown(schema.maxLength) ? schema.maxLength : '∞'} characters`);
  if (schema.default !== undefined) parts.push(`default <code>${escape(JSON.stringify(schema.default))}</code>`);
  return parts.join(' ');
}

function propertiesTable(schema: Json): string {
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  if (Object.keys(props).length === 0) return `<p>${typeSummary(schema)}</p>`;
  const rows = Object.entries(props)
    .map(
      ([name, p]) =>
        `<tr><td><code>${escape(name)}</code></td><td>${typeSummary(p)}</td><td>${required.has(name) ? 'yes' : ''}</td><td>${escape(str(p.description))}</td></tr>`,
    )
    .join('');
  const strict = schema.additionalProperties === false ? '<p class="note">No other fields are accepted.</p>' : '';
  return `<table><tr><th>field</th><th>type</th><th>required</th><th>meaning</th></tr>${rows}</table>${strict}`;
}

/** JSON's schema, else the first media type's (an event stream's: each event's data). */
function bodySchema(content: unknown): Json | undefined {
  const media = (content ?? {}) as Record<string, { schema?: Json }>;
  return media['application/json']?.schema ?? Object.values(media).find((m) => m.schema)?.schema;
}

function operation(path: string, method: string, op: Json): string {
  const params = (op.parameters ?? []) as Json[];
  const paramRows = params
    .map(
      (p) =>
        `<tr><td><code>${escape(str(p.name))}</code></td><td>${escape(str(p.in))}</td><td>${p.required ? 'yes' : ''}</td><td>${typeSummary(p.schema as Json)}</td><td>${escape(str((p.schema as Json | undefined)?.description))}</td></tr>`,
    )
    .join('');
  const paramTable = params.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>meaning</th></tr>${paramRows}</table>`
    : '';
  const requestBody = op.requestBody as Json | undefined;
  const body = requestBody ? bodySchema(requestBody.content) : undefined;
  const bodyTable = body ? `<h4>Request body (JSON${requestBody?.required ? '' : ', optional'})</h4>${propertiesTable(body)}` : '';
  const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
    .map(([code, r]) => {
      const schema = bodySchema(r.content);
      return `<tr><td><code>${escape(code)}</code></td><td>${escape(str(r.description))}</td><td>${schema ? typeSummary(schema) : ''}</td></tr>`;
    })
    .join('');
  const security = op.security as Array<Record<string, unknown>> | undefined;
  const auth = security === undefined ? 'bearer token' : security.length === 0 ? 'none' : security.map((s) => Object.keys(s).join(', ')).join('; ');
  const id = anchor(`${method}-${path}`);
  return `<section id="${id}"><h3><span class="m">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h3>
<p>${escape(str(op.summary))}</p>${op.description ? `<p>${escape(str(op.description))}</p>` : ''}<p class="note">auth: ${escape(auth)}</p>${paramTable}${bodyTable}
<h4>Responses</h4><table><tr><th>status</th><th>when</th><th>body</th></tr>${responses}</table></section>`;
}

export function renderDocs(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const ops = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const toc = ops
    .map(
      ({ path, method, op }) =>
        `<li><a href="#${anchor(`${method}-${path}`)}"><span class="m">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></a> ${escape(str(op.summary))}</li>`,
    )
    .join('');
  const schemas = Object.entries(((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>)
    .map(([name, schema]) => `<section id="schema-${anchor(name)}"><h3>${escape(name)}</h3>${propertiesTable(schema)}</section>`)
    .join('');
  const info = doc.info as Json;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(str(info.title))} API</title>
<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}section{border-top:1px solid #ddd;padding:.5em 0}
.m{background:#234;color:#fff;padding:1px 6px;border-radius:3px;font-size:.8em}table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.note{color:#555;font-size:.9em}ul{padding-left:1.2em}</style>
</head><body><h1>${escape(str(info.title))} <small>${escape(str(info.version))}</small></h1><p>${escape(str(info.description))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escape(str(doc.openapi))}). Errors are <code>{"error":{"code","message"}}</code>.</p>
<h2>Operations</h2><ul>${toc}</ul>${ops.map(({ path, method, op }) => operation(path, method, op)).join('')}
<h2>Schemas</h2>${schemas}</body></html>`;
}
