/**
 * The bearer check in front of /api/v1/internal/*.
 *
 * Not hono/bearer-auth: it refuses, before any hook of ours runs, every token
 * outside RFC 6750's b64token characters, and RTMANAGER_API_TOKEN may be any
 * 16+ characters (a token with `!` or a space would lock its deployment out).
 * It would also accept several spaces after the scheme, and answer 400 where
 * the contract says 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { fail } from './answers.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Constant time: both sides hashed to equal length before comparing; the token's hash is taken once. */
function bearerMatcher(token: string): (header: string | undefined) => boolean {
  const expected = sha256(token);
  return (header) => {
    const match = /^Bearer (.+)$/i.exec(header ?? '');
    return timingSafeEqual(sha256(match?.[1] ?? ''), expected) && match !== null && token !== '';
  };
}

export function bearerGuard(auth: { disabled: boolean; apiToken: string }): MiddlewareHandler {
  const bearerMatches = bearerMatcher(auth.apiToken);
  return async (c, next) => {
    if (!auth.disabled && !bearerMatches(c.req.header('authorization'))) {
      c.header('WWW-Authenticate', 'Bearer');
      return fail(c, 'unauthorized', 'a valid bearer token is required');
    }
    await next();
  };
}
