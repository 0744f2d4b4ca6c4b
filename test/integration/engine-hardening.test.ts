/**
 * Contract §12 through the real start pipeline on real Docker, Redis and
 * Postgres: engine containers hardened by default (and the test engine still
 * serving under all of it), the state directory refused when it is no real
 * directory, mounted as a typed mount, and a daemon's long words cut before
 * they reach the Result, the audit row and the notification.
 */
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_MESSAGE_MAX_BYTES } from '../../src/domain/errors.js';
import { startRuntime } from '../../src/domain/start.js';
import { FsStateDirectories } from '../../src/infra/fs/state-directories.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';

const ENGINE = 'galaxy-test-engine:labelled';
const NOBODY = '65534:65534';
const worlds: RealWorld[] = [];
const closers: Array<() => Promise<void>> = [];

async function world(opts: Parameters<typeof realWorld>[0] = {}): Promise<RealWorld> {
  const w = await realWorld(opts);
  worlds.push(w);
  return w;
}

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
});

const start = (w: RealWorld, gameId: string, imageRef = ENGINE) => startRuntime(w.deps, { gameId, imageRef, opSource: 'gm_rest', sourceRef: 'it' });

/** Runs a command in the container as its own user, and answers what it printed (stdout and stderr). */
async function execIn(docker: Dockerode, container: string, script: string): Promise<string> {
  const exec = await docker.getContainer(container).exec({ Cmd: ['/bin/busybox', 'sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, out, out);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return Buffer.concat(chunks).toString('utf8');
}

/** GET from the host to the container's address on the test network; the engine may take a moment to listen. */
async function fetchFromEngine(address: string): Promise<{ status: number; body: string }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const response = await fetch(`http://${address}:8080/`, { signal: AbortSignal.timeout(2_000) });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw lastError;
}

describe('engine containers hardened by default (contract §12)', () => {
  it('runs with no capabilities, no new privileges, a read-only root, no swap, an init, as the configured user — and still serves HTTP', async () => {
    const w = await world({
      env: { RTMANAGER_CONTAINER_USER: NOBODY, RTMANAGER_GAME_STATE_OWNER_UID: '65534', RTMANAGER_GAME_STATE_OWNER_GID: '65534' },
    });
    const gameId = w.gameId('hard');
    const result = await start(w, gameId);
    expect(result).toMatchObject({ outcome: 'success', errorCode: null });

    const name = `galaxy-game-${gameId}`;
    const info = await w.docker.getContainer(name).inspect();
    expect(info.Config.User).toBe(NOBODY);
    expect(info.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${64 * 1024 * 1024}` },
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      Init: true,
      Mounts: [{ Type: 'bind', Source: `${w.stateRoot}/${gameId}`, Target: '/var/lib/galaxy/engine' }],
    });
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.Binds).toBeNull();

    // The engine answers on its address, as the platform reaches it.
    const address = info.NetworkSettings.Networks[w.networkName]?.IPAddress;
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const answer = await fetchFromEngine(address!);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('galaxy test engine');

    // What a process inside sees: its user, an empty capability bounding set,
    // no_new_privs, a root it cannot write, and the two places it can.
    const seen = await execIn(
      w.docker,
      name,
      [
        'id -u; id -g',
        'grep -E "^(CapBnd|NoNewPrivs):" /proc/self/status',
        'touch /rootfs-probe 2>/dev/null && echo root-writable || echo root-read-only',
        'touch /tmp/probe && echo tmp-writable',
        'touch "$STORAGE_PATH/probe" && echo state-writable',
        'grep " /tmp " /proc/mounts',
      ].join('; '),
    );
    const lines = seen.split('\n').map((l) => l.trim());
    expect(lines.slice(0, 2)).toEqual(['65534', '65534']);
    expect(seen).toMatch(/CapBnd:\s+0{16}/);
    expect(seen).toMatch(/NoNewPrivs:\s+1/);
    expect(lines).toEqual(expect.arrayContaining(['root-read-only', 'tmp-writable', 'state-writable']));
    expect(seen).toMatch(/^tmpfs \/tmp tmpfs rw,nosuid,nodev,.*size=65536k/m);
    expect((await stat(`${w.stateRoot}/${gameId}/probe`)).uid).toBe(65534);
  });

  it('mounts a state root whose path holds a ":" as it is', async () => {
    const w = await world();
    const root = `${w.stateRoot}/games:eu-1`;
    w.deps.stateDirs = new FsStateDirectories({ root, mode: 0o750, uid: process.getuid!(), gid: process.getgid!() });
    const gameId = w.gameId('colon');
    const result = await start(w, gameId);
    expect(result).toMatchObject({ outcome: 'success', record: { statePath: `${root}/${gameId}` } });
    const info = await w.docker.getContainer(`galaxy-game-${gameId}`).inspect();
    expect(info.HostConfig.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: `${root}/${gameId}`, Target: '/var/lib/galaxy/engine' })]);
    // The engine sees that very directory.
    await writeFile(`${root}/${gameId}/marker`, 'from the host');
    expect(await execIn(w.docker, `galaxy-game-${gameId}`, 'cat /var/lib/galaxy/engine/marker')).toBe('from the host');
  });
});

describe('a state directory that is no real directory (contract §12)', () => {
  it('refuses a symbolic link planted at {root}/{game_id} with start_config_invalid, and leaves what it points to alone', async () => {
    const w = await world();
    const gameId = w.gameId('link');
    const target = `${w.stateRoot}-elsewhere`;
    await mkdir(target, { mode: 0o700 });
    closers.push(() => rm(target, { recursive: true, force: true }));
    await chmod(target, 0o700);
    await writeFile(`${target}/secret`, 'host data');
    await symlink(target, `${w.stateRoot}/${gameId}`);
    const before = await stat(target);

    const result = await start(w, gameId);
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: `prepare state directory: refused state directory for "${gameId}": ${w.stateRoot}/${gameId} exists and is a symbolic link; it must be a real directory`,
      record: null,
      retryable: false,
    });
    expect(await w.containersOf(gameId)).toEqual([]);
    const after = await stat(target);
    expect([after.mode, after.uid, after.gid]).toEqual([before.mode, before.uid, before.gid]);
    expect(await readFile(`${target}/secret`, 'utf8')).toBe('host data');
    const [intent] = await w.streamEntries(w.streams.intents);
    expect(intent?.notification_type).toBe('runtime.start_config_invalid');
  });

  it('refuses a file at {root}/{game_id} with start_config_invalid', async () => {
    const w = await world();
    const gameId = w.gameId('file');
    await writeFile(`${w.stateRoot}/${gameId}`, 'not a directory');
    const result = await start(w, gameId);
    expect(result).toMatchObject({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: `prepare state directory: refused state directory for "${gameId}": ${w.stateRoot}/${gameId} exists and is not a directory; it must be a real directory`,
    });
    expect(await w.containersOf(gameId)).toEqual([]);
    expect(await readFile(`${w.stateRoot}/${gameId}`, 'utf8')).toBe('not a directory');
  });
});

/**
 * A registry on a loopback port (the daemon allows plain HTTP there) whose
 * every manifest answer is an error of `messageBytes` — what a registry or a
 * proxy in front of one can send back, and the daemon passes on verbatim.
 */
async function verboseRegistry(messageBytes: number): Promise<string> {
  const server = http.createServer((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'ü'.repeat(messageBytes / 2) }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('what the daemon or a registry says is cut to 1 KiB (contract §12)', () => {
  it('in the Result, the audit row and the notification', async () => {
    const w = await world();
    const gameId = w.gameId('verbose');
    const image = `${await verboseRegistry(8_000)}/galaxy/engine:1`;
    const result = await start(w, gameId, image);
    expect(result).toMatchObject({ outcome: 'failure', errorCode: 'image_pull_failed', retryable: false });
    // What happened in an operator's words, then the daemon's and the registry's, cut on a character boundary.
    const quoted = image.replace(/[.]/g, '\\.');
    expect(result.errorMessage).toMatch(new RegExp(`^image ${quoted} was not found in registry .*: manifest for ${quoted} not found: .*ü+… \\(truncated\\)$`));
    expect(new TextEncoder().encode(result.errorMessage).length).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);

    const [audit] = await w.operations.listByGame(gameId, 1);
    expect(audit).toMatchObject({ errorCode: 'image_pull_failed', errorMessage: result.errorMessage });
    const [intent] = await w.streamEntries(w.streams.intents);
    expect(intent?.notification_type).toBe('runtime.image_pull_failed');
    expect((JSON.parse(intent!.payload!) as { error_message: string }).error_message).toBe(result.errorMessage);
  });
});
