/**
 * What no single variable can say alone: a fallback judged only when used,
 * credentials unless auth is off (and off only on loopback), a default under
 * its ceiling. Each reports beside the other bad variables, so these run even
 * when some variable failed: such a variable is still its raw string here.
 */
import { isIPv4 } from 'node:net';
import type { z } from 'zod';
import { MIN_MEMORY_BYTES } from '../domain/container-spec.js';
import { parseDockerSize } from '../domain/docker-size.js';
import { unsetIfEmpty } from './declare.js';
import { DOCKER_HOST, RTMANAGER_DOCKER_HOST } from './docker-variables.js';
import { got } from './parsers.js';

type Env = Record<string, string | undefined>;
type Parsed = Record<string, unknown>;

// DOCKER_CONFIG is not one: besides config.json it names the TLS certificates' default directory.
const FALLBACKS = [[RTMANAGER_DOCKER_HOST.name, DOCKER_HOST.name]] as const;

/** A fallback is ours to judge only when it is used: when ours is given, whatever else it says is not. */
export function withoutOverriddenFallbacks(env: Env): Env {
  const out = { ...env };
  for (const [ours, fallback] of FALLBACKS) if (unsetIfEmpty(env[ours]) !== undefined) out[fallback] = undefined;
  return out;
}

const CREDENTIALS = ['RTMANAGER_API_TOKEN', 'RTMANAGER_ADMIN_USER', 'RTMANAGER_ADMIN_PASSWORD'] as const;
const SECRETS = ['RTMANAGER_API_TOKEN', 'RTMANAGER_ADMIN_PASSWORD'] as const;
const SECRET_MIN_LENGTH = 16;

/** Where "no auth" is safe: only this machine can connect. */
function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  return isIPv4(h) && h.startsWith('127.');
}

const asText = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function checkCredentials(v: Parsed, ctx: z.RefinementCtx): void {
  // Only `true` disables auth.
  if (v.RTMANAGER_AUTH_DISABLED === true) {
    if (typeof v.RTMANAGER_HTTP_HOST === 'string' && !isLoopback(v.RTMANAGER_HTTP_HOST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['RTMANAGER_AUTH_DISABLED'],
        message: `must not be true while RTMANAGER_HTTP_HOST is not a loopback address (127.0.0.0/8, ::1, localhost) ${got(v.RTMANAGER_HTTP_HOST)}: the API and the dashboard would be open to the network`,
      });
    }
    return;
  }
  for (const name of CREDENTIALS) {
    const value = asText(v[name]);
    if (!value || value.trim() === '') ctx.addIssue({ code: 'custom', path: [name], message: 'required unless RTMANAGER_AUTH_DISABLED=true' });
  }
  // Never echoed: the line says how long, not what.
  for (const name of SECRETS) {
    const secret = asText(v[name]);
    if (secret && secret.trim() !== '' && secret.length < SECRET_MIN_LENGTH)
      ctx.addIssue({ code: 'custom', path: [name], message: `must be at least ${SECRET_MIN_LENGTH} characters` });
  }
}

// Compared only when both sides parsed (a size is still a string: below Docker's minimum it failed already).
const size = (value: string) => {
  const bytes = parseDockerSize(value);
  return bytes !== null && bytes >= MIN_MEMORY_BYTES ? bytes : null;
};
const amount = (value: unknown, isSize: boolean) => (isSize ? (typeof value === 'string' ? size(value) : null) : typeof value === 'number' ? value : null);

export function checkCeilings(v: Parsed, ctx: z.RefinementCtx): void {
  for (const [limit, isSize] of [
    ['CPU_QUOTA', false],
    ['MEMORY', true],
    ['PIDS_LIMIT', false],
  ] as const) {
    const name = `RTMANAGER_CONTAINER_DEFAULT_${limit}` as const;
    const maxName = `RTMANAGER_CONTAINER_MAX_${limit}` as const;
    const value = amount(v[name], isSize);
    const max = amount(v[maxName], isSize);
    if (value !== null && max !== null && value > max) {
      ctx.addIssue({ code: 'custom', path: [name], message: `must not be above ${maxName} (${String(v[maxName])})` });
    }
  }
  // Contract §15: the stop timeout an image without its own label gets is under the ceiling its label would be held to.
  const stop = amount(v.RTMANAGER_STOP_TIMEOUT_SECONDS, false);
  const maxStop = amount(v.RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS, false);
  if (stop !== null && maxStop !== null && stop > maxStop) {
    ctx.addIssue({
      code: 'custom',
      path: ['RTMANAGER_STOP_TIMEOUT_SECONDS'],
      message: `must not be above RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS (${String(v.RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)})`,
    });
  }
}
