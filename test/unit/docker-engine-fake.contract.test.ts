import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunSpec } from '../../src/domain/engine-port.js';
import { describeDockerEngineContract, describeReplaceContract, HEALTH_MOUNT } from '../contracts/docker-engine.contract.js';
import { fakeChatter } from '../fakes/fake-chatter.js';
import { FakeDockerEngine } from '../fakes/fake-docker-engine.js';

/** As galaxy-test-engine:busy: its engines keep half a CPU busy. */
function withBusyImage(port: FakeDockerEngine, labels: Record<string, string>): string {
  port.images.set('local/engine:busy', labels);
  port.usage.set('local/engine:busy', { cpuPercent: 49.5 });
  return 'local/engine:busy';
}

/** As galaxy-test-engine:healthcheck: healthy while `ok` is in the directory mounted at HEALTH_MOUNT, its first probe a second in. */
function withHealthImage(port: FakeDockerEngine, labels: Record<string, string>): string {
  const probe = (spec: RunSpec) => {
    const mount = spec.bindMounts.find((m) => m.mountPath === HEALTH_MOUNT);
    return mount && existsSync(path.join(mount.hostPath, 'ok')) ? 'healthy' : 'unhealthy';
  };
  port.images.set('local/engine:health', labels);
  port.healthchecks.set('local/engine:health', probe);
  port.healthProbeMs = 1_000;
  return 'local/engine:health';
}

describeDockerEngineContract('fake', () => {
  const port = new FakeDockerEngine();
  const labels = { 'com.galaxy.cpu_quota': '0.5', 'com.galaxy.memory': '64m', 'com.galaxy.pids_limit': '64' };
  port.networks.add('net');
  port.images.set('local/engine:1', labels);
  port.images.set('127.0.0.1:1/engine:1', labels);
  port.unreachableRegistries.add('127.0.0.1:1');
  const healthImage = withHealthImage(port, labels);
  port.images.set('local/engine:chatter', labels);
  port.programs.set('local/engine:chatter', fakeChatter);
  let pushed = 0;
  return Promise.resolve({
    port,
    localImage: 'local/engine:1',
    healthImage,
    busyImage: withBusyImage(port, labels),
    remoteImage: 'registry.invalid/engine:1',
    pullableImage: () => {
      const ref = `registry.galaxy.test/engine-${++pushed}:v1`;
      port.registry.set(ref, labels);
      return Promise.resolve(ref);
    },
    unreachableLocalImage: '127.0.0.1:1/engine:1',
    chatterImage: 'local/engine:chatter',
    downloads: () => port.downloads,
    network: 'net',
    prefix: 'fake',
    extraLabels: {},
    cleanup: () => Promise.resolve(),
  });
});

describeReplaceContract('fake', () => {
  const port = new FakeDockerEngine();
  port.canReplace();
  const labels = { 'com.galaxy.cpu_quota': '0.5', 'com.galaxy.memory': '64m', 'com.galaxy.pids_limit': '64' };
  port.networks.add('net');
  port.images.set('local/engine:1', labels);
  port.images.set('local/engine:2', labels);
  return Promise.resolve({
    port,
    localImage: 'local/engine:1',
    healthImage: withHealthImage(port, labels),
    busyImage: withBusyImage(port, labels),
    otherImage: 'local/engine:2',
    chatterImage: 'local/engine:1',
    remoteImage: 'registry.invalid/engine:1',
    pullableImage: () => Promise.reject(new Error('not used')),
    unreachableLocalImage: 'local/engine:1',
    downloads: () => port.downloads,
    network: 'net',
    prefix: 'fake',
    extraLabels: {},
    cleanup: () => Promise.resolve(),
  });
});
