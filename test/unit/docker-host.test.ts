import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerTarget, readDockerTls } from '../../src/infra/docker/host.js';

describe('dockerTarget', () => {
  it('reads a unix socket path and a tcp host with or without its port', () => {
    expect(dockerTarget('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerTarget('tcp://10.0.0.5:2376')).toEqual({ host: '10.0.0.5', port: 2376 });
    expect(dockerTarget('tcp://docker.internal')).toEqual({ host: 'docker.internal', port: 2375 });
  });

  it('speaks TLS to a tcp host when given it, on 2376 by default as the CLI does; a unix socket ignores it', () => {
    const tls = { verify: true, ca: Buffer.from('ca') };
    expect(dockerTarget('tcp://docker.internal', tls)).toEqual({ host: 'docker.internal', port: 2376, tls });
    expect(dockerTarget('tcp://docker.internal:3000', tls)).toEqual({ host: 'docker.internal', port: 3000, tls });
    expect(dockerTarget('unix:///var/run/docker.sock', tls)).toEqual({ socketPath: '/var/run/docker.sock' });
  });

  it('refuses any other scheme rather than read it as TCP', () => {
    expect(() => dockerTarget('npipe:////./pipe/docker_engine')).toThrow('unsupported Docker host "npipe:////./pipe/docker_engine"');
    expect(() => dockerTarget('ssh://me@box')).toThrow(/unsupported Docker host/);
  });
});

describe('readDockerTls: the certificate directory, as the Docker CLI reads it', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  async function certDir(files: string[]): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-certs-'));
    dirs.push(dir);
    for (const name of files) await writeFile(path.join(dir, name), `${name} contents`);
    return dir;
  }

  it('is nothing without TLS', () => {
    expect(readDockerTls(null)).toBeNull();
  });

  it('reads ca.pem to verify with and presents cert.pem / key.pem', async () => {
    const certPath = await certDir(['ca.pem', 'cert.pem', 'key.pem']);
    expect(readDockerTls({ verify: true, certPath })).toEqual({
      verify: true,
      ca: Buffer.from('ca.pem contents'),
      cert: Buffer.from('cert.pem contents'),
      key: Buffer.from('key.pem contents'),
    });
  });

  it('needs ca.pem only to verify, and the client pair only when there is one', async () => {
    expect(readDockerTls({ verify: false, certPath: await certDir([]) })).toEqual({ verify: false });
    expect(readDockerTls({ verify: true, certPath: await certDir(['ca.pem']) })).toEqual({ verify: true, ca: Buffer.from('ca.pem contents') });
  });

  it('stops boot naming what is missing', async () => {
    const noCa = await certDir(['cert.pem', 'key.pem']);
    expect(() => readDockerTls({ verify: true, certPath: noCa })).toThrow(
      `Docker TLS: DOCKER_TLS_VERIFY is set but ${noCa}/ca.pem does not exist (DOCKER_CERT_PATH)`,
    );
    const halfPair = await certDir(['ca.pem', 'cert.pem']);
    expect(() => readDockerTls({ verify: true, certPath: halfPair })).toThrow(`Docker TLS: ${halfPair} holds only one of cert.pem and key.pem`);
  });
});
