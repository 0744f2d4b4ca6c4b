import { describe, expect, it } from 'vitest';
import { dockerTarget } from '../../src/infra/docker/host.js';

describe('dockerTarget', () => {
  it('reads a unix socket path and a tcp host with or without its port', () => {
    expect(dockerTarget('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerTarget('tcp://10.0.0.5:2376')).toEqual({ host: '10.0.0.5', port: 2376 });
    expect(dockerTarget('tcp://docker.internal')).toEqual({ host: 'docker.internal', port: 2375 });
  });

  it('refuses any other scheme rather than read it as TCP', () => {
    expect(() => dockerTarget('npipe:////./pipe/docker_engine')).toThrow('unsupported Docker host "npipe:////./pipe/docker_engine"');
    expect(() => dockerTarget('ssh://me@box')).toThrow(/unsupported Docker host/);
  });
});
