/**
 * Contract §12: a tcp:// Docker host with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH,
 * read as the Docker CLI reads them. The daemon here listens on its unix
 * socket only, so the test puts a TLS endpoint in front of it on a loopback
 * port — one that, like `dockerd --tlsverify`, refuses a client without a
 * certificate from its CA — with certificates openssl makes for the test.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDockerTls } from '../../src/infra/docker/host.js';
import { openRuntimeBackend } from '../../src/infra/docker/backend.js';
import { pingDaemon } from '../../src/infra/docker/lazy-engine.js';
import type { DockerEngine } from '../../src/domain/engine-port.js';
import { testConfig } from '../support/test-config.js';

const run = promisify(execFile);

/** Runs openssl in `dir`; the arguments hold no spaces. */
async function openssl(dir: string, args: string): Promise<void> {
  await run('openssl', args.split(' '), { cwd: dir });
}

/** A new P-256 key for CN `name`, written to `{name}-key.pem`. */
const newKey = (name: string) => `-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=${name} -keyout ${name}-key.pem`;

/** A self-signed CA: `{name}.pem` and `{name}-key.pem` in `dir`. */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, `req -x509 ${newKey(name)} -days 1 -out ${name}.pem`);
}

/** A certificate for CN `name` signed by `ca`, with `extensions`: `{name}.pem` and `{name}-key.pem` in `dir`. */
async function signed(dir: string, ca: string, name: string, extensions: string): Promise<void> {
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(dir, `req ${newKey(name)} -out ${name}.csr`);
  await openssl(dir, `x509 -req -in ${name}.csr -CA ${ca}.pem -CAkey ${ca}-key.pem -CAcreateserial -days 1 -extfile ${name}.ext -out ${name}.pem`);
}

/** A DOCKER_CERT_PATH holding the named files of `dir`, as ca.pem, cert.pem and key.pem. */
async function certPath(dir: string, name: string, files: { ca?: string; cert?: string; key?: string }): Promise<string> {
  const out = path.join(dir, name);
  await mkdir(out);
  for (const [as, from] of Object.entries(files)) await copyFile(path.join(dir, from), path.join(out, `${as}.pem`));
  return out;
}

let dir: string;
let proxy: tls.Server;
let host: string;
const open = new Set<net.Socket>();
/** Common names of the client certificates the endpoint accepted. */
const clients: string[] = [];
const paths: Record<'full' | 'noClientCert' | 'otherCa', string> = { full: '', noClientCert: '', otherCa: '' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-docker-tls-'));
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await signed(dir, 'ca', 'daemon', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await signed(dir, 'ca', 'rtmanager', 'extendedKeyUsage=clientAuth\n');
  paths.full = await certPath(dir, 'full', { ca: 'ca.pem', cert: 'rtmanager.pem', key: 'rtmanager-key.pem' });
  paths.noClientCert = await certPath(dir, 'no-client-cert', { ca: 'ca.pem' });
  paths.otherCa = await certPath(dir, 'other-ca-dir', { ca: 'other-ca.pem', cert: 'rtmanager.pem', key: 'rtmanager-key.pem' });

  const file = (name: string) => readFile(path.join(dir, name));
  proxy = tls.createServer(
    { key: await file('daemon-key.pem'), cert: await file('daemon.pem'), ca: await file('ca.pem'), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      clients.push(String(socket.getPeerCertificate().subject?.CN));
      const daemon = net.connect('/var/run/docker.sock');
      open.add(socket).add(daemon);
      socket.pipe(daemon).pipe(socket);
      socket.on('error', () => daemon.destroy());
      daemon.on('error', () => socket.destroy());
    },
  );
  proxy.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  host = `tcp://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  // The clients keep their connections alive: close would wait for them.
  for (const socket of open) socket.destroy();
  await new Promise((resolve) => proxy?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** The Docker engine adapter as the composition root builds it, from these variables. */
function engineFrom(env: Record<string, string>): { engine: DockerEngine; config: ReturnType<typeof testConfig> } {
  const config = testConfig({ DOCKER_HOST: host, RTMANAGER_DOCKER_TIMEOUT_MS: '5000', ...env });
  const { engine } = openRuntimeBackend(config);
  return { engine, config };
}

describe('a tcp:// Docker host behind TLS that checks client certificates', () => {
  it('DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: verifies the daemon, presents cert.pem / key.pem, and drives it', async () => {
    const { engine, config } = engineFrom({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: paths.full });
    expect(config.docker.tls).toEqual({ verify: true, certPath: paths.full });
    expect(await engine.ping()).toBe(true);
    expect(await pingDaemon(config.docker.host, 5_000, readDockerTls(config.docker.tls))).toBe(true);
    expect(await engine.networkExists('bridge')).toBe(true);
    const listed = await engine.listContainers({ 'com.galaxy.no-such-label': 'x' });
    expect(listed).toEqual([]);
    expect(await engine.inspectImage('galaxy-test-engine:labelled')).toMatchObject({ labels: { 'com.galaxy.memory': '64m' } });
    expect(clients.length).toBeGreaterThan(0);
    expect(new Set(clients)).toEqual(new Set(['rtmanager']));
  });

  it('without a client certificate the endpoint refuses it', async () => {
    const { engine } = engineFrom({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: paths.noClientCert });
    expect(await engine.ping()).toBe(false);
    await expect(engine.networkExists('bridge')).rejects.toThrow();
  });

  it('a daemon certificate its ca.pem does not vouch for is refused under DOCKER_TLS_VERIFY', async () => {
    const { engine } = engineFrom({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: paths.otherCa });
    expect(await engine.ping()).toBe(false);
    await expect(engine.networkExists('bridge')).rejects.toThrow(/certificate/i);
  });

  it('DOCKER_TLS alone encrypts without checking the daemon, as the CLI does', async () => {
    const { engine } = engineFrom({ DOCKER_TLS: '1', DOCKER_CERT_PATH: paths.otherCa });
    expect(await engine.ping()).toBe(true);
    expect(await engine.networkExists('bridge')).toBe(true);
  });

  it('plain HTTP (no TLS variable) does not get through', async () => {
    const { engine, config } = engineFrom({});
    expect(config.docker.tls).toBeNull();
    expect(await engine.ping()).toBe(false);
    await expect(engine.networkExists('bridge')).rejects.toThrow();
  });
});
