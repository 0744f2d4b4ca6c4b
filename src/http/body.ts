/**
 * Reads a request body as text, refusing more than `limit` bytes.
 *
 * Why not `c.req.text()` behind hono's bodyLimit: on @hono/node-server both
 * touch `Request.body`, which turns the server's lightweight request into a
 * full WHATWG Request with an AbortSignal and a web ReadableStream over the
 * socket. Profiled under the enqueue load that was a fifth of the web
 * process's CPU for a body of 40 bytes. So on Node the body is read from the
 * IncomingMessage itself; elsewhere (app.request in tests) from the Request.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

export type BodyText = { ok: true; text: string } | { ok: false; reason: 'too_large' };

export async function readBodyText(c: Context, limit: number): Promise<BodyText> {
  // A declared length over the limit is refused before a byte is read.
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return { ok: false, reason: 'too_large' };

  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return readIncoming(incoming, limit);

  if (!c.req.raw.body) return { ok: true, text: '' };
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > limit) return { ok: false, reason: 'too_large' };
  return { ok: true, text: new TextDecoder().decode(bytes) };
}

async function readIncoming(incoming: IncomingMessage, limit: number): Promise<BodyText> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Chunked bodies declare no length: count as they arrive, stop at the limit.
    if (size > limit) return { ok: false, reason: 'too_large' };
    chunks.push(chunk);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}
