/**
 * Registry credentials the Docker way: the `auths` of a Docker CLI
 * config.json (RTMANAGER_DOCKER_CONFIG), as `docker login` writes them, matched
 * to an image's registry as the CLI matches them, and handed to the daemon
 * with the pull (dockerode's `authconfig` becomes the X-Registry-Auth header).
 *
 * The file is looked at (stat) before every pull and read again when its
 * inode, size or mtime changed, so a rotated credential needs no restart. A
 * missing file means anonymous pulls. Nothing read from it ever reaches a
 * message: an unreadable file is reported by its path alone (JSON.parse's own
 * message quotes the text around the fault, which may be a password).
 * Credential helpers (`credsStore`, `credHelpers`) are not run.
 */
import { readFile, stat } from 'node:fs/promises';
import { normalizeRegistryHost, registryOfRef } from '../../domain/image-ref.js';

/** What the daemon takes in X-Registry-Auth (the field names of Docker's AuthConfig). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The key `docker login` writes for Docker Hub. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/**
 * The docker CLI's ConvertToHostname: a key may be written `host:port`,
 * `https://host/v1/` or `http://host`. Docker Hub's three names are one.
 */
export function registryHostOfKey(key: string): string {
  return normalizeRegistryHost(key.replace(/^https?:\/\//, '').split('/')[0]!);
}

/**
 * The entry for `registry` among `auths`: the exact key first (for Docker
 * Hub, the key `docker login` writes), then any key whose host is the
 * registry, in the file's order.
 */
export function findAuthEntry<T>(auths: Record<string, T>, registry: string): T | undefined {
  const exact = registry === 'docker.io' ? (auths[DOCKER_HUB_KEY] ?? auths[registry]) : auths[registry];
  if (exact !== undefined) return exact;
  for (const [key, entry] of Object.entries(auths)) if (registryHostOfKey(key) === registry) return entry;
  return undefined;
}

/** One entry as the daemon takes it; undefined when it carries nothing usable. */
export function toRegistryAuth(entry: AuthEntry, registry: string): RegistryAuth | undefined {
  const serveraddress = registry === 'docker.io' ? DOCKER_HUB_KEY : registry;
  if (entry.identitytoken) return { identitytoken: entry.identitytoken, serveraddress, ...(entry.username ? { username: entry.username } : {}) };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress };
  }
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password, serveraddress };
  return undefined;
}

export class DockerConfigCredentials {
  private seen = '';
  private auths: Record<string, AuthEntry> = {};
  private loading: Promise<void> | null = null;

  constructor(readonly path: string) {}

  /** The credentials for the registry `ref` names, or undefined (an anonymous pull). */
  async forImage(ref: string): Promise<RegistryAuth | undefined> {
    await this.refresh();
    const registry = registryOfRef(ref);
    if (registry === '') return undefined;
    const entry = findAuthEntry(this.auths, registry);
    return entry ? toRegistryAuth(entry, registry) : undefined;
  }

  /** Callers at once share one look at the file. */
  private refresh(): Promise<void> {
    this.loading ??= this.reload().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async reload(): Promise<void> {
    const info = await stat(this.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
      throw new Error(`cannot read the Docker config ${this.path} (RTMANAGER_DOCKER_CONFIG): ${error.code ?? 'error'}`);
    });
    const version = info ? `${info.ino}:${info.size}:${info.mtimeMs}` : 'missing';
    if (version === this.seen) return;
    this.auths = info ? await this.read() : {};
    this.seen = version;
  }

  private async read(): Promise<Record<string, AuthEntry>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the Docker config ${this.path} (RTMANAGER_DOCKER_CONFIG): ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`the Docker config ${this.path} (RTMANAGER_DOCKER_CONFIG) is not valid JSON`);
    }
    const auths = (parsed as { auths?: unknown } | null)?.auths;
    if (auths === undefined || auths === null) return {};
    if (typeof auths !== 'object' || Array.isArray(auths))
      throw new Error(`the Docker config ${this.path} (RTMANAGER_DOCKER_CONFIG): "auths" is not an object`);
    return auths as Record<string, AuthEntry>;
  }
}
