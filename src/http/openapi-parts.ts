/**
 * The OpenAPI document's parts (openapi.ts, openapi-window.ts): zod schemas
 * as JSON Schema with their named definitions hoisted, and the parameters and
 * answers every operation shares.
 */
import { z } from 'zod';
import { errorJson, gameIdParam } from './schemas.js';

export type Json = Record<string, unknown>;

/**
 * Named schemas (zod `.meta({ id })`), shared by every operation. zod puts
 * them in each schema's own `$defs` with `#/$defs/…` refs, but in an OpenAPI
 * document such a ref resolves against the document root: they are moved to
 * `components.schemas` and the refs rewritten.
 */
export const components: Record<string, unknown> = {};

function hoistDefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hoistDefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value as Json)) {
    if (key === '$defs') {
      for (const [id, def] of Object.entries(inner as Json)) {
        const hoisted = hoistDefs(def);
        if (id in components && JSON.stringify(components[id]) !== JSON.stringify(hoisted)) throw new Error(`two different schemas are named ${id}`);
        components[id] = hoisted;
      }
    } else if (key === '$ref' && typeof inner === 'string') {
      out[key] = inner.replace(/^#\/\$defs\//, '#/components/schemas/');
    } else {
      out[key] = hoistDefs(inner);
    }
  }
  return out;
}

export const schema = (s: z.ZodType, io: 'input' | 'output' = 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return hoistDefs(rest) as Json;
};

export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: schema(errorJson) } } });
export const json = (description: string, s: z.ZodType) => ({ description, content: { 'application/json': { schema: schema(s) } } });

export const gameIdParameter = { name: 'game_id', in: 'path', required: true, schema: schema(gameIdParam, 'input') };
export const queryParameters = (s: z.ZodObject) =>
  Object.entries((schema(s, 'input').properties ?? {}) as Record<string, Json>).map(([name, prop]) => ({ name, in: 'query', required: false, schema: prop }));

export const COMMON_ERRORS = {
  '400': errorResponse('invalid game id, body or query (code start_config_invalid, naming the fields)'),
  '401': errorResponse('missing or wrong bearer token'),
  '503': errorResponse('Redis (the queue) does not answer'),
};
