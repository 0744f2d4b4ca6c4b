/**
 * Images from a real registry (contract §11): the whole system in this
 * process, pulling from the private test registry (htpasswd auth) with the
 * credentials of a Docker config.json, through proxies of our own that
 * count the daemon's requests and pace the registry's replies, and past
 * registries that are down. Every pino line of the run is kept, and at the
 * end none of them, no audit row and no notification holds a credential.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../../src/infra/docker/container-engine.js';
import type { InProcessSystem } from '../support/in-process-system.js';
import { inProcessSystem } from '../support/in-process-system.js';
import { pushEngineImage, removeLocalImage, testRegistry } from '../support/registry.js';
import type { RegistryProxy } from '../support/registry-proxy.js';
import { registryProxy, unavailableRegistry } from '../support/registry-proxy.js';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const registry = testRegistry();
const base64 = (text: string) => Buffer.from(text).toString('base64');
const goodAuth = base64(`${registry.user}:${registry.password}`);
const wrongPassword = `wrong-${randomUUID()}`;
const wrongAuth = base64(`${registry.user}:${wrongPassword}`);
/** Every secret of the run, as it could leak: the passwords and the `auth` strings of the config.json. */
const SECRETS = [registry.password, goodAuth, wrongPassword, wrongAuth];

let tmp: string;
let proxy: RegistryProxy;
const localRefs: string[] = [];
const closers: Array<() => Promise<unknown>> = [];
const systems: InProcessSystem[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rtm-registry-pull-'));
  // 2 MB/s: a few seconds for a pull of a few megabytes, long enough to watch.
  proxy = await registryProxy({ upstream: registry.host, bytesPerSecond: 2_000_000 });
  closers.push(() => proxy.close());
});

afterAll(async () => {
  for (const s of systems) await s.cleanup();
  for (const close of closers.reverse()) await close();
  for (const ref of localRefs) removeLocalImage(ref);
  await rm(tmp, { recursive: true, force: true });
});

/** A Docker config.json as `docker login` writes it: one entry per registry, the proxy's keyed as a URL. */
async function writeDockerConfig(file: string, password: string, how: 'in_place' | 'replace' = 'in_place'): Promise<void> {
  const text = JSON.stringify(
    {
      auths: { [registry.host]: { auth: base64(`${registry.user}:${password}`) }, [`http://${proxy.host}`]: { auth: base64(`${registry.user}:${password}`) } },
    },
    null,
    '\t',
  );
  if (how === 'in_place') return writeFile(file, text);
  await writeFile(`${file}.new`, text);
  await rename(`${file}.new`, file);
}

/** A fresh image in the registry (not local), named through the proxy. */
function pushThroughProxy(opts: Parameters<typeof pushEngineImage>[0] = {}) {
  const pushed = pushEngineImage(opts);
  const ref = pushed.ref.replace(registry.host, proxy.host);
  localRefs.push(pushed.ref, ref);
  return { ...pushed, ref };
}

/** A local copy of the labelled test image, named as if it came from `host`. */
async function localCopyFrom(host: string): Promise<string> {
  const repo = `${host}/galaxy-test/local-${randomUUID().slice(0, 8)}`;
  await docker.getImage('galaxy-test-engine:labelled').tag({ repo, tag: 'v1' });
  localRefs.push(`${repo}:v1`);
  return `${repo}:v1`;
}

async function system(env: Record<string, string>): Promise<InProcessSystem> {
  const s = await inProcessSystem(env);
  systems.push(s);
  return s;
}

const imageOfContainer = async (containerId: string | null | undefined) => (await docker.getContainer(containerId ?? 'none').inspect()).Image;
const imageId = async (ref: string) => (await docker.getImage(ref).inspect()).Id;

/** pino lines at warn (40) of one game. */
function warnLines(s: InProcessSystem, gameId: string): Array<{ msg: string; err?: string }> {
  return s.logLines
    .map((l) => JSON.parse(l) as { level: number; game_id?: string; msg: string; err?: string })
    .filter((l) => l.level === 40 && l.game_id === gameId);
}

describe('pulls under always, with the credentials of a Docker config.json', () => {
  let s: InProcessSystem;
  let configPath: string;

  beforeAll(async () => {
    configPath = path.join(tmp, 'docker-config.json');
    await writeDockerConfig(configPath, registry.password);
    s = await system({ RTMANAGER_DOCKER_PULL_POLICY: 'always', RTMANAGER_DOCKER_CONFIG: configPath });
  });

  it('pulls a private image with the credentials of the config.json and runs it', async () => {
    const { ref } = pushEngineImage();
    localRefs.push(ref);
    const game = s.gameId('private');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    const result = await s.finished(game);
    expect(result).toMatchObject({ outcome: 'success', error_code: null, error_message: '' });
    expect(await imageOfContainer(result.record?.current_container_id)).toBe(await imageId(ref));
  });

  it('re-pulls a tag that moved: a restart runs the image the tag names now', async () => {
    const repo = `galaxy-test/moving-${randomUUID().slice(0, 8)}`;
    const first = pushEngineImage({ repo, tag: 'v1' });
    localRefs.push(first.ref);
    const game = s.gameId('moved');
    expect(await s.post(game, 'start', { image_ref: first.ref })).toBe(202);
    const started = await s.finished(game);
    expect(started.outcome).toBe('success');
    const before = await imageOfContainer(started.record?.current_container_id);

    const moved = pushEngineImage({ repo, tag: 'v1' });
    expect(moved.digest).not.toBe(first.digest);
    expect(await s.post(game, 'restart')).toBe(202);
    const restarted = await s.finished(game, 'restart');
    expect(restarted.outcome).toBe('success');
    const after = await imageOfContainer(restarted.record?.current_container_id);
    // The image the tag left behind is ours to remove once its container is gone.
    localRefs.push(before);
    expect(after).not.toBe(before);
    expect(after).toBe(await imageId(first.ref));
    expect((await docker.getImage(first.ref).inspect()).RepoDigests).toContain(`${registry.host}/${repo}@${moved.digest}`);
  });

  it('a registry that is down: the start runs on the local copy, and its audit row and a warn line say so', async () => {
    const down = await unavailableRegistry();
    closers.push(() => down.close());
    const ref = await localCopyFrom(down.host);
    const game = s.gameId('fallback');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    expect(await s.finished(game)).toMatchObject({ outcome: 'success', error_code: null });
    expect(down.hits()).toBeGreaterThan(0);
    const [row] = await s.operations(game);
    expect(row).toMatchObject({ op_kind: 'start', outcome: 'success', error_code: '' });
    expect(row!.error_message).toMatch(
      new RegExp(
        `^started on the local copy of the image: registry ${down.host} could not be reached to pull ${ref}: .*503 Service Unavailable.* \\(RTMANAGER_PULL_FALLBACK_TO_LOCAL\\)$`,
      ),
    );
    expect(warnLines(s, game)).toEqual([
      expect.objectContaining({ msg: 'registry unreachable; starting on the local copy of the image', err: expect.stringContaining('503') as unknown }),
    ]);
  });

  it('shows the pull on the start poll while it runs: layers and bytes, moving, ending all done', async () => {
    const { ref } = pushThroughProxy({ layerBytes: 6_000_000 });
    const game = s.gameId('progress');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    const seen: Array<Record<string, unknown>> = [];
    for (;;) {
      const answer = await s.poll(game);
      if (answer?.state === 'active' && typeof answer.progress === 'object' && answer.progress !== null) seen.push(answer.progress as Record<string, unknown>);
      if (answer?.result) break;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect((await s.poll(game))?.result?.outcome).toBe('success');
    const midway = seen.filter((p) => (p.bytes_done as number) > 0 && (p.bytes_done as number) < (p.bytes_total as number));
    expect(midway.length, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(midway[0]).toEqual({
      step: 'pull_image',
      layers_done: expect.any(Number) as unknown,
      layers_total: expect.any(Number) as unknown,
      bytes_done: expect.any(Number) as unknown,
      bytes_total: expect.any(Number) as unknown,
    });
    expect(midway[0]!.bytes_total).toBeGreaterThanOrEqual(6_000_000);
    expect(new Set(seen.map((p) => p.bytes_done)).size).toBeGreaterThan(1);
    const last = (await s.poll(game))?.progress as Record<string, number>;
    expect(last).toEqual({
      step: 'pull_image',
      layers_done: last.layers_total,
      layers_total: last.layers_total,
      bytes_done: last.bytes_total,
      bytes_total: last.bytes_total,
    });
  });

  it('six starts of one image that is not local share one pull', async () => {
    const { ref, digest } = pushThroughProxy({ layerBytes: 2_000_000 });
    const tagPath = `/v2/${ref.slice(proxy.host.length + 1).replace(/:v1$/, '')}/manifests/v1`;
    const pullsBefore = await pullCount(s);
    const games = Array.from({ length: 6 }, (_, i) => s.gameId(`six${i}`));
    expect(await Promise.all(games.map((g) => s.post(g, 'start', { image_ref: ref })))).toEqual([202, 202, 202, 202, 202, 202]);
    const results = await Promise.all(games.map((g) => s.finished(g)));
    expect(results.map((r) => r.outcome)).toEqual(Array(6).fill('success'));
    expect(await pullCount(s)).toBe(pullsBefore + 1);
    // What the registry saw: the tag asked for once, and no blob fetched twice.
    expect(proxy.manifestRequests().filter((r) => r.path === tagPath)).toHaveLength(1);
    const blobs = proxy.blobGets().filter((r) => r.path.startsWith(tagPath.replace(/manifests\/v1$/, 'blobs/')));
    expect(blobs.length).toBeGreaterThan(0);
    expect(new Set(blobs.map((b) => b.path)).size).toBe(blobs.length);
    const images = new Set(await Promise.all(results.map((r) => imageOfContainer(r.record?.current_container_id))));
    expect([...images]).toEqual([await imageId(ref)]);
    expect((await docker.getImage(ref).inspect()).RepoDigests).toContain(`${ref.replace(/:v1$/, '')}@${digest}`);
  });

  it('reads the config.json again when it changes: a wrong password fails saying authentication failed, the right one works again, no restart', async () => {
    const [a, b, c] = [pushEngineImage(), pushEngineImage(), pushEngineImage()];
    localRefs.push(a.ref, b.ref, c.ref);
    const [ga, gb, gc] = [s.gameId('rot-a'), s.gameId('rot-b'), s.gameId('rot-c')];
    expect(await s.post(ga, 'start', { image_ref: a.ref })).toBe(202);
    expect((await s.finished(ga)).outcome).toBe('success');

    await writeDockerConfig(configPath, wrongPassword, 'replace');
    expect(await s.post(gb, 'start', { image_ref: b.ref })).toBe(202);
    const refused = await s.finished(gb);
    expect(refused).toMatchObject({ outcome: 'failure', error_code: 'image_pull_failed' });
    expect(refused.error_message).toMatch(
      new RegExp(
        `^authentication failed at registry ${registry.host} for ${b.ref}: check its entry in the Docker config.json \\(RTMANAGER_DOCKER_CONFIG\\): .*unauthorized`,
      ),
    );
    for (const secret of SECRETS) expect(refused.error_message).not.toContain(secret);

    await writeDockerConfig(configPath, registry.password, 'in_place');
    expect(await s.post(gc, 'start', { image_ref: c.ref })).toBe(202);
    expect((await s.finished(gc)).outcome).toBe('success');
  });
});

describe('pulls under always with RTMANAGER_PULL_FALLBACK_TO_LOCAL=false', () => {
  let s: InProcessSystem;

  beforeAll(async () => {
    s = await system({ RTMANAGER_DOCKER_PULL_POLICY: 'always', RTMANAGER_PULL_FALLBACK_TO_LOCAL: 'false', RTMANAGER_PULL_INACTIVITY_MS: '3000' });
  });

  it('a registry that is down fails the start, saying it could not be reached, though a local copy exists', async () => {
    const down = await unavailableRegistry();
    closers.push(() => down.close());
    const ref = await localCopyFrom(down.host);
    const game = s.gameId('down');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    const result = await s.finished(game);
    // The whole Result on a mismatch: a fresh clone once answered internal_error here, and only its message can say why.
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'failure', error_code: 'image_pull_failed' });
    expect(result.error_message).toMatch(
      new RegExp(`^registry ${down.host} could not be reached to pull ${ref}: received unexpected HTTP status: 503 Service Unavailable$`),
    );
    expect((await s.intents()).some((i) => i.includes('runtime.image_pull_failed') && i.includes(game))).toBe(true);
    expect(warnLines(s, game).map((l) => l.msg)).toEqual(['runtime start failed']);
  });

  it('a registry that takes the connection and never answers: the pull is abandoned, saying which deadline fired', async () => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((socket) => held.add(socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      for (const socket of held) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const host = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const ref = `${host}/galaxy-test/silent:v1`;
    const game = s.gameId('silent');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    const result = await s.finished(game);
    expect(result).toMatchObject({ outcome: 'failure', error_code: 'image_pull_failed' });
    expect(result.error_message).toBe(`image pull of ${ref} made no progress for 3000 ms (RTMANAGER_PULL_INACTIVITY_MS)`);
  });
});

describe('pull policy never', () => {
  it('an image that is not local fails the start naming the policy, and the registry is never asked', async () => {
    const s = await system({ RTMANAGER_DOCKER_PULL_POLICY: 'never' });
    const { ref } = pushThroughProxy();
    const asked = proxy.requests.length;
    const game = s.gameId('never');
    expect(await s.post(game, 'start', { image_ref: ref })).toBe(202);
    const result = await s.finished(game);
    expect(result).toEqual({
      outcome: 'failure',
      error_code: 'image_pull_failed',
      error_message: `image ${ref} is not present locally and the pull policy "never" (RTMANAGER_DOCKER_PULL_POLICY) forbids pulling it`,
      record: null,
      retryable: false,
    });
    expect(proxy.requests.length).toBe(asked);
  });
});

describe('what the Docker daemon shares by itself', () => {
  it('two clients pulling one ref at once: the daemon fetches the manifest and the config twice, each layer once; one adapter fetches everything once', async () => {
    const configPath = path.join(tmp, 'daemon-dedupe.json');
    await writeDockerConfig(configPath, registry.password);
    const adapter = () => new ContainerEngine({ docker: new Dockerode({ socketPath: '/var/run/docker.sock' }), dockerConfigPath: configPath });
    const counts = async (pullers: [ContainerEngine, ContainerEngine]) => {
      const { ref } = pushThroughProxy({ layerBytes: 2_000_000 });
      const name = ref.slice(proxy.host.length + 1).replace(/:v1$/, '');
      const manifest = await registryManifest(name);
      const from = proxy.requests.length;
      await Promise.all(pullers.map((p) => p.pullImage(ref, 'always')));
      const seen = proxy.requests.slice(from);
      const gets = (digest: string) => seen.filter((r) => r.method === 'GET' && r.path === `/v2/${name}/blobs/${digest}`).length;
      return {
        tag: seen.filter((r) => r.path === `/v2/${name}/manifests/v1`).length,
        config: gets(manifest.config.digest),
        // The pushed image's own layer: the others (busybox, the page) are local already.
        layer: gets(manifest.layers.at(-1)!.digest),
      };
    };
    expect(await counts([adapter(), adapter()])).toEqual({ tag: 2, config: 2, layer: 1 });
    const one = adapter();
    expect(await counts([one, one])).toEqual({ tag: 1, config: 1, layer: 1 });
  });
});

describe('credentials never leave the config.json', () => {
  it('no log line of the run, audit row or notification holds a password or an auth string', async () => {
    expect(systems.length).toBeGreaterThan(0);
    for (const s of systems) {
      const text = [...s.logLines, ...(await s.intents())];
      for (const game of s.logLines.map((l) => (JSON.parse(l) as { game_id?: string }).game_id).filter((g): g is string => !!g)) {
        text.push(JSON.stringify(await s.operations(game)));
      }
      expect(text.length).toBeGreaterThan(10);
      for (const secret of SECRETS) expect(text.filter((t) => t.includes(secret))).toEqual([]);
    }
  });
});

/** Pulls the adapter started, from the service's own metrics. */
async function pullCount(s: InProcessSystem): Promise<number> {
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('rtmanager_docker_op_latency_seconds_count') && l.includes('op="pull"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** The manifest the registry serves for `name:v1`. */
async function registryManifest(name: string): Promise<{ config: { digest: string }; layers: Array<{ digest: string }> }> {
  const res = await fetch(`http://${registry.host}/v2/${name}/manifests/v1`, {
    headers: { authorization: `Basic ${goodAuth}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  return (await res.json()) as { config: { digest: string }; layers: Array<{ digest: string }> };
}
