/**
 * The private test registry of scripts/services.sh (htpasswd auth, plain HTTP
 * on a loopback port the engine treats as insecure-allowed), and engine images
 * pushed to it. An image whose layers are all local "pulls" without a
 * download, so each pushed image carries a layer of random bytes, and its
 * local copy is removed after the push: the next pull really downloads.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestRegistry {
  /** `127.0.0.1:PORT`: the registry part of an image ref. */
  host: string;
  /** A Docker CLI config.json with this registry's credentials, as `docker login` wrote it. */
  dockerConfigPath: string;
  user: string;
  password: string;
}

export function testRegistry(): TestRegistry {
  const host = process.env.RTM_TEST_REGISTRY;
  const dir = process.env.RTM_TEST_REGISTRY_DIR;
  if (!host || !dir) throw new Error('RTM_TEST_REGISTRY(_DIR) unset; run: bash scripts/services.sh up, then source var/services.env');
  return {
    host,
    dockerConfigPath: path.join(dir, 'docker-config', 'config.json'),
    user: 'galaxy',
    password: readFileSync(path.join(dir, 'password'), 'utf8').trim(),
  };
}

export interface PushedImage {
  /** `host/repo:tag` */
  ref: string;
  /** The repo digest the registry answered (`sha256:…`). */
  digest: string;
}

const HTTPD = '["/bin/busybox","httpd","-f","-p","8080","-h","/www"]';

/**
 * Builds an engine image (busybox httpd, like scripts/build-test-images.sh)
 * with a unique layer of `layerBytes` random bytes, pushes it as
 * `{registry}/{repo}:{tag}` and removes the local copy.
 */
export function pushEngineImage(
  opts: { repo?: string; tag?: string; layerBytes?: number; labels?: Record<string, string>; keepLocal?: boolean } = {},
): PushedImage {
  const registry = testRegistry();
  const repo = opts.repo ?? `galaxy-test/engine-${randomUUID().slice(0, 8)}`;
  const ref = `${registry.host}/${repo}:${opts.tag ?? 'v1'}`;
  const ctx = mkdtempSync(path.join(tmpdir(), 'rtm-image-'));
  try {
    copyFileSync('/bin/busybox', path.join(ctx, 'busybox'));
    mkdirSync(path.join(ctx, 'www'));
    copyFileSync('test/images/engine/index.html', path.join(ctx, 'www', 'index.html'));
    writeFileSync(path.join(ctx, 'noise'), randomBytes(opts.layerBytes ?? 64 * 1024));
    const labels = Object.entries({ 'com.galaxy.test_image': 'pushed', ...opts.labels }).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    writeFileSync(
      path.join(ctx, 'Dockerfile'),
      ['FROM scratch', 'COPY busybox /bin/busybox', 'COPY www /www', 'COPY noise /noise', `LABEL ${labels.join(' ')}`, `ENTRYPOINT ${HTTPD}`, ''].join('\n'),
    );
    execFileSync('docker', ['build', '-q', '-t', ref, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: 'pipe' });
    const pushed = execFileSync('docker', ['--config', path.dirname(registry.dockerConfigPath), 'push', ref], { stdio: 'pipe' }).toString();
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    if (!digest) throw new Error(`docker push of ${ref} answered no digest: ${pushed}`);
    if (!opts.keepLocal) removeLocalImage(ref);
    return { ref, digest };
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Forgets the local copy (a later pull downloads again); an image already gone is fine. */
export function removeLocalImage(ref: string): void {
  try {
    execFileSync('docker', ['image', 'rm', '-f', ref], { stdio: 'pipe' });
  } catch (error) {
    if (!/No such image/i.test(String((error as { stderr?: unknown }).stderr ?? error))) throw error;
  }
}
