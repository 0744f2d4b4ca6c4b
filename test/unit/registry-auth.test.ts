import { describe, expect, it } from 'vitest';
import { registryOfRef } from '../../src/domain/image-ref.js';
import { findAuthEntry, registryHostOfKey, toRegistryAuth } from '../../src/infra/docker/registry-auth.js';

describe('registry credentials matched as the Docker CLI matches them', () => {
  it('reads a key as ConvertToHostname does, with Docker Hub under one name', () => {
    expect(registryHostOfKey('127.0.0.1:15000')).toBe('127.0.0.1:15000');
    expect(registryHostOfKey('http://127.0.0.1:15000')).toBe('127.0.0.1:15000');
    expect(registryHostOfKey('https://registry.example.com/v2/')).toBe('registry.example.com');
    expect(registryHostOfKey('Registry.Example.com')).toBe('registry.example.com');
    expect(registryHostOfKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryHostOfKey('registry-1.docker.io')).toBe('docker.io');
    expect(registryHostOfKey('docker.io')).toBe('docker.io');
  });

  it('names the registry of an image ref as the engine does', () => {
    expect(registryOfRef('127.0.0.1:15000/galaxy/engine:v1')).toBe('127.0.0.1:15000');
    expect(registryOfRef('ghcr.io/galaxy/engine@sha256:' + 'a'.repeat(64))).toBe('ghcr.io');
    expect(registryOfRef('ubuntu:22.04')).toBe('docker.io');
    expect(registryOfRef('galaxy/engine')).toBe('docker.io');
    expect(registryOfRef('index.docker.io/galaxy/engine:1')).toBe('docker.io');
    expect(registryOfRef('localhost/engine:1')).toBe('localhost');
    expect(registryOfRef('Not A Ref')).toBe('');
  });

  it('prefers the exact key, then any key naming the same host, and finds nothing for another registry', () => {
    const auths = { 'https://ghcr.io': { n: 1 }, 'ghcr.io': { n: 2 }, 'https://index.docker.io/v1/': { n: 3 }, 'http://127.0.0.1:15000/': { n: 4 } };
    expect(findAuthEntry(auths, 'ghcr.io')).toEqual({ n: 2 });
    expect(findAuthEntry(auths, 'docker.io')).toEqual({ n: 3 });
    expect(findAuthEntry({ 'registry-1.docker.io': { n: 5 } }, 'docker.io')).toEqual({ n: 5 });
    expect(findAuthEntry(auths, '127.0.0.1:15000')).toEqual({ n: 4 });
    expect(findAuthEntry(auths, '127.0.0.1:15001')).toBeUndefined();
  });

  it('turns each form docker login writes into what the daemon takes', () => {
    const auth = Buffer.from('galaxy:pa:ss').toString('base64');
    expect(toRegistryAuth({ auth }, '127.0.0.1:15000')).toEqual({ username: 'galaxy', password: 'pa:ss', serveraddress: '127.0.0.1:15000' });
    expect(toRegistryAuth({ username: 'u', password: 'p' }, 'ghcr.io')).toEqual({ username: 'u', password: 'p', serveraddress: 'ghcr.io' });
    expect(toRegistryAuth({ identitytoken: 'tok' }, 'docker.io')).toEqual({ identitytoken: 'tok', serveraddress: 'https://index.docker.io/v1/' });
    expect(toRegistryAuth({ auth: Buffer.from('no-colon').toString('base64') }, 'ghcr.io')).toBeUndefined();
    expect(toRegistryAuth({}, 'ghcr.io')).toBeUndefined();
  });
});
