/**
 * The backend is chosen in one place (openRuntimeBackend), and its engine
 * declares what it can do before it is loaded: the declaration must be the
 * one the loaded engine makes, or the domain would take a path the engine
 * refuses. Nothing here reaches a daemon (the socket does not exist).
 */
import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { openRuntimeBackend } from '../../src/infra/docker/backend.js';
import { ContainerEngine } from '../../src/infra/docker/container-engine.js';
import { SwarmEngine } from '../../src/infra/docker/swarm-engine.js';
import { testConfig } from '../support/test-config.js';

const nowhere = { docker: new Dockerode({ socketPath: '/nonexistent.sock' }) };

describe('openRuntimeBackend', () => {
  it('docker: the container engine’s declaration, before the engine is loaded', () => {
    const backend = openRuntimeBackend(testConfig({ RTMANAGER_DOCKER_HOST: 'unix:///nonexistent.sock' }));
    expect(backend.kind).toBe('docker');
    expect(backend.capabilities).toEqual({ replaceInPlace: false });
    expect(backend.engine.capabilities).toEqual(new ContainerEngine(nowhere).capabilities);
  });

  it('swarm: the Swarm engine’s declaration, before the engine is loaded', () => {
    const backend = openRuntimeBackend(testConfig({ RTMANAGER_RUNTIME_BACKEND: 'swarm', RTMANAGER_DOCKER_HOST: 'unix:///nonexistent.sock' }));
    expect(backend.kind).toBe('swarm');
    expect(backend.capabilities).toEqual({ replaceInPlace: true });
    expect(backend.engine.capabilities).toEqual(new SwarmEngine(nowhere).capabilities);
  });

  it('one engine refuses to replace in place, before asking the daemon', async () => {
    const engine = openRuntimeBackend(testConfig({ RTMANAGER_DOCKER_HOST: 'unix:///nonexistent.sock' })).engine;
    await expect(engine.replace('abc', { name: 'galaxy-game-x' } as Parameters<typeof engine.replace>[1])).rejects.toThrow(
      'one Docker engine cannot replace container abc by galaxy-game-x in place',
    );
  });
});
