/**
 * The parsers a variable's declaration names: each checks the string an
 * operator wrote and says, in its error line, what it wanted and what it got.
 */
import { z } from 'zod';
import { parseCapabilities } from '../domain/capabilities.js';
import { MIN_CPU_QUOTA, MIN_MEMORY, MIN_MEMORY_BYTES } from '../domain/container-spec.js';
import { parseDockerSize } from '../domain/docker-size.js';
import { isRegistryHost } from '../domain/image-ref.js';
import { isKeyValueList, parseKeyValues } from '../domain/key-values.js';

export const got = (value: unknown): string => `(got ${JSON.stringify(value)})`;

/** A URL's password never reaches stderr (and from there the logs). */
const gotUrl = (value: unknown): string => got(typeof value === 'string' ? value.replace(/^([^:/]*:\/\/[^:/@]*:).*@/, '$1***@') : value);

/**
 * Checked on the string, not coerced: `0x10`, `1e3` or ` 12` are typos
 * here, and the error line quotes what the operator wrote.
 */
export const int = (min: number, max: number) =>
  z
    .string()
    .refine((v) => /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max, {
      error: (issue) => `must be an integer between ${min} and ${max} ${got(issue.input)}`,
    })
    .transform((v) => Number(v));

/** A duration of contract §10: positive, at most a day. */
export const ms = int(1, 86_400_000);

const isPositiveDecimal = (v: string): boolean => /^\d*\.?\d+$/.test(v.trim()) && Number(v) > 0;

/** Contract §14: less CPU than this is no CPU limit to Docker, or an engine that cannot start. */
export const cpuQuota = z
  .string()
  .refine((v) => isPositiveDecimal(v) && Number(v) >= MIN_CPU_QUOTA, {
    error: (issue) =>
      isPositiveDecimal(String(issue.input))
        ? `must be at least ${MIN_CPU_QUOTA}: Docker cannot limit an engine to less CPU ${got(issue.input)}`
        : `must be a positive decimal number ${got(issue.input)}`,
  })
  .transform((v) => Number(v));

// Not z.stringbool: its failure aborts the whole parse, and the credential
// lines below must still be reported beside a bad RTMANAGER_AUTH_DISABLED.
export const bool = z
  .string()
  .refine((v) => v === 'true' || v === 'false', {
    error: (issue) => `must be "true" or "false" ${got(issue.input)}`,
  })
  .transform((v) => v === 'true');

export const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: (issue) => `must be a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL ${gotUrl(issue.input)}` },
  );

export const nonEmpty = z.string().refine((v) => v.trim() !== '', { error: (issue) => `must not be blank ${got(issue.input)}` });

export const dockerSize = z.string().refine((v) => (parseDockerSize(v) ?? 0) > 0, {
  error: (issue) => `must be a Docker size such as 512m or 1g ${got(issue.input)}`,
});

/** Contract §14: Docker's smallest memory limit (0 would be none). A value that is no size failed just above. */
export const memoryLimit = dockerSize.refine(
  (v) => {
    const bytes = parseDockerSize(v) ?? 0;
    return bytes <= 0 || bytes >= MIN_MEMORY_BYTES;
  },
  { error: (issue) => `must be at least ${MIN_MEMORY}, Docker's smallest memory limit ${got(issue.input)}` },
);

export const capabilities = z
  .string()
  .refine((v) => parseCapabilities(v) !== null, {
    error: (issue) => `must be ALL or Linux capability names (such as NET_BIND_SERVICE) separated by commas ${got(issue.input)}`,
  })
  .transform((v) => parseCapabilities(v) ?? []);

/** Numeric: a FROM scratch engine image has no /etc/passwd to look a name up in. */
export const uidGid = z.string().refine((v) => /^\d{1,10}:\d{1,10}$/.test(v) && v.split(':').every((id) => Number(id) <= 4_294_967_294), {
  error: (issue) => `must be uid:gid, two numbers such as 65534:65534 ${got(issue.input)}`,
});

export const keyValues = z.string().refine((v) => isKeyValueList(v), {
  error: (issue) => `must be k=v pairs separated by commas ${got(issue.input)}`,
});

/** `host[:port],…`; blank entries are ignored, so an empty value allows every registry. */
export const registryHosts = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== ''),
  )
  .superRefine((hosts, ctx) => {
    const bad = hosts.filter((h) => !isRegistryHost(h));
    if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `must be registry hosts such as docker.io or registry.example:5000 ${got(bad.join(','))}` });
  });

export const octalMode = z
  .string()
  .refine((v) => /^0?[0-7]{3,4}$/.test(v.trim()), {
    error: (issue) => `must be an octal file mode such as 0750 ${got(issue.input)}`,
  })
  .transform((v) => parseInt(v, 8));

/** Named pipes are Windows-only; this service runs on Linux, so they are refused by name. */
export const dockerHost = z.string().superRefine((v, ctx) => {
  if (/^(unix:\/\/\/.+|tcp:\/\/[^/]+)$/.test(v)) return;
  const why = v.startsWith('npipe:') ? 'must be unix:///path or tcp://host:port; npipe:// is Windows-only' : 'must be unix:///path or tcp://host:port';
  ctx.addIssue({ code: 'custom', message: `${why} ${got(v)}` });
});

export const absolutePath = z.string().refine((v) => v.startsWith('/'), { error: (issue) => `must be an absolute path ${got(issue.input)}` });

export const envName = z
  .string()
  .refine((v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v), { error: (issue) => `must be an environment variable name ${got(issue.input)}` });

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, why: string) =>
  z.enum(values, { error: (issue) => `${why} ${got(issue.input)}` });

export const text = z.string();

/** A size in bytes, for Docker's tmpfs option. */
export const dockerSizeBytes = dockerSize.transform((v) => parseDockerSize(v) ?? 0);

export const labels = keyValues.transform((v) => parseKeyValues(v));

export const keyPrefix = z.string().refine((v) => /^[A-Za-z0-9_-]+$/.test(v), { error: (issue) => `must be letters, digits, - or _ ${got(issue.input)}` });
