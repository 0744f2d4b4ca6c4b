import { describeDockerEngineContract } from '../contracts/docker-engine.contract.js';
import { FakeDockerEngine } from '../fakes/fake-docker-engine.js';

describeDockerEngineContract('fake', () => {
  const port = new FakeDockerEngine();
  port.networks.add('net');
  port.images.set('local/engine:1', { 'com.galaxy.cpu_quota': '0.5', 'com.galaxy.memory': '64m', 'com.galaxy.pids_limit': '64' });
  return Promise.resolve({
    port,
    localImage: 'local/engine:1',
    remoteImage: 'registry.invalid/engine:1',
    network: 'net',
    prefix: 'fake',
    extraLabels: {},
    cleanup: () => Promise.resolve(),
  });
});
