/**
 * Image references by the grammar of Docker's `distribution/reference`
 * `ParseNormalizedNamed` — the parser the engine itself applies. Our own,
 * because no maintained npm package reproduces that function (its
 * normalisation of Docker Hub names, its lowercase rule on the repository
 * before the tag, its refusal of 64-hex identifiers, its digest checks).
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain [ ":" port ] "/" ] path-component { "/" path-component }
 *   path-comp  := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
 *   domain     := domain-comp { "." domain-comp } | "[" ipv6 "]"
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex     (sha256: 64, sha384: 96, sha512: 128 lower-case hex)
 */

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const NAME = `(?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME}`;
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_NAME = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;

const NAME_TOTAL_LENGTH_MAX = 255;
const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageRef {
  /** Normalised: `docker.io` for Docker Hub names. */
  domain: string;
  /** Normalised: `library/x` for official Docker Hub images. */
  path: string;
  tag?: string;
  digest?: string;
  /** The full normalised reference, e.g. `docker.io/library/ubuntu:22.04`. */
  normalized: string;
}

export type ImageRefParse = { ok: true; value: ImageRef } | { ok: false; reason: string };

export function parseImageRef(ref: string): ImageRefParse {
  if (IDENTIFIER.test(ref)) {
    return fail(`invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(ref);
  const tagSeparator = remainder.indexOf(':');
  const remote = tagSeparator > -1 ? remainder.slice(0, tagSeparator) : remainder;
  if (remote.toLowerCase() !== remote) {
    return fail(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseReference(`${domain}/${remainder}`);
}

function parseReference(full: string): ImageRefParse {
  const match = REFERENCE.exec(full);
  if (!match) {
    if (REFERENCE.test(full.toLowerCase())) return fail('repository name must be lowercase');
    return fail('invalid reference format');
  }
  const name = match[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) return fail(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  const nameMatch = ANCHORED_NAME.exec(name);
  if (!nameMatch) return fail('invalid reference format');
  const tag = match[2];
  const digest = match[3];
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem) return fail(problem);
  }
  return {
    ok: true,
    value: {
      domain: nameMatch[1] ?? '',
      path: nameMatch[2]!,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
      normalized: full,
    },
  };
}

/** As the reference's splitDockerDomain: a first component without `.`/`:` that is not `localhost` is a Hub path. */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}

/** go-digest's Validate: a known algorithm and exactly its length of lower-case hex. */
function digestProblem(digest: string): string | null {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) return 'unsupported digest algorithm';
  if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  if (hex.length !== length) return 'invalid checksum digest length';
  return null;
}

function fail(reason: string): ImageRefParse {
  return { ok: false, reason };
}

/** Docker Hub's names; an allowed-registries list says `docker.io` for all of them. */
const HUB_HOSTS = new Set([DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, 'registry-1.docker.io']);
const REGISTRY_HOST = new RegExp(`^${DOMAIN_AND_PORT}$`);

/** A registry host as an allowed-registries entry may name it: `host`, `host:port`, `[v6]:port`. */
export function isRegistryHost(host: string): boolean {
  return REGISTRY_HOST.test(host.trim());
}

/**
 * The registry a host names, comparable: lower-case (host names are), and
 * Docker Hub's aliases folded into `docker.io`.
 */
export function normalizeRegistryHost(host: string): string {
  const lower = host.trim().toLowerCase();
  return HUB_HOSTS.has(lower) ? DEFAULT_DOMAIN : lower;
}

/**
 * The registry Docker pulls a parsed ref from: its first path component when
 * that has a `.` or a `:` or is `localhost`, else Docker Hub (`docker.io`).
 */
export function registryHost(ref: ImageRef): string {
  return normalizeRegistryHost(ref.domain);
}

/** The registry an image ref string names (as registryHost); '' for a ref that does not parse. */
export function registryOfRef(ref: string): string {
  const parsed = parseImageRef(ref);
  return parsed.ok ? registryHost(parsed.value) : '';
}

/** Why `ref` may not run here, or null: it must parse, and when the allowed list is not empty (empty = any) its registry must be on it. */
export function imageRefProblem(ref: string, allowedRegistries: readonly string[]): string | null {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return `invalid image_ref: ${parsed.reason}`;
  if (allowedRegistries.length === 0) return null;
  const registry = registryHost(parsed.value);
  if (allowedRegistries.some((allowed) => normalizeRegistryHost(allowed) === registry)) return null;
  return `image registry ${JSON.stringify(registry)} is not allowed (RTMANAGER_ALLOWED_REGISTRIES: ${allowedRegistries.join(', ')})`;
}

/**
 * What the record calls the image's digest: the repo digest it was pulled
 * by — the digest the ref pins, else the RepoDigests entry of the ref's own
 * repository — and the local image id when there is none (an image built
 * here, or pulled from another repository under another name).
 */
export function pulledDigest(ref: string, image: { id: string; repoDigests: readonly string[] }): string {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return image.id;
  if (parsed.value.digest) return parsed.value.digest;
  const repository = repositoryOf(parsed.value);
  for (const entry of image.repoDigests) {
    const candidate = parseImageRef(entry);
    if (candidate.ok && candidate.value.digest && repositoryOf(candidate.value) === repository) return candidate.value.digest;
  }
  return image.id;
}

function repositoryOf(ref: ImageRef): string {
  return `${registryHost(ref)}/${ref.path}`;
}
