import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { DockerEngine, RunSpec } from '../../src/domain/engine-port.js';
import { ContainerEngine } from '../../src/infra/docker/container-engine.js';
import { openRuntimeBackend } from '../../src/infra/docker/backend.js';
import { pingDaemon } from '../../src/infra/docker/lazy-engine.js';
import { RecordingTelemetry } from '../fakes/support.js';
import { describeDockerEngineContract } from '../contracts/docker-engine.contract.js';
import { pushEngineImage, removeLocalImage, testRegistry } from '../support/registry.js';
import { TEST_LABEL, removeContainers } from '../support/services.js';
import { testConfig } from '../support/test-config.js';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });

async function testNetwork(): Promise<{ name: string; remove(): Promise<void> }> {
  const name = `rtm-test-${randomUUID().slice(0, 8)}`;
  const network = await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: TEST_LABEL });
  return { name, remove: () => network.remove() };
}

async function removeByLabel(labels: Record<string, string>): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) } });
  await removeContainers(
    docker,
    list.map((c) => c.Id),
  );
}

/**
 * The real adapter on the real daemon, pulling from the private test
 * registry with its docker-login config.json. Its unreachable registry is a
 * closed loopback port, holding a local tag of the labelled test image.
 */
async function subject(make: (opts: { telemetry: RecordingTelemetry; dockerConfigPath: string }) => DockerEngine) {
  const telemetry = new RecordingTelemetry();
  const port = make({ telemetry, dockerConfigPath: testRegistry().dockerConfigPath });
  const network = await testNetwork();
  const run = randomUUID().slice(0, 8);
  const extraLabels = { ...TEST_LABEL, 'com.galaxy.test_run': run };
  const pulled: string[] = [];
  const unreachableLocalImage = `127.0.0.1:1/galaxy-test/engine-${run}:v1`;
  await docker.getImage('galaxy-test-engine:labelled').tag({ repo: unreachableLocalImage.replace(/:v1$/, ''), tag: 'v1' });
  return {
    port,
    localImage: 'galaxy-test-engine:labelled',
    healthImage: 'galaxy-test-engine:healthcheck',
    busyImage: 'galaxy-test-engine:busy',
    chatterImage: 'galaxy-test-engine:chatter',
    remoteImage: 'registry.invalid/galaxy/engine:1',
    pullableImage: () => {
      const { ref } = pushEngineImage();
      pulled.push(ref);
      return Promise.resolve(ref);
    },
    unreachableLocalImage,
    downloads: () => telemetry.dockerOps.filter((o) => o.op === 'pull').length,
    network: network.name,
    prefix: `rtm-t-${run}`,
    extraLabels,
    cleanup: async () => {
      await removeByLabel({ 'com.galaxy.test_run': run });
      await network.remove();
      for (const ref of [...pulled, unreachableLocalImage]) removeLocalImage(ref);
    },
  };
}

describeDockerEngineContract('dockerode', () => subject((opts) => new ContainerEngine({ docker, ...opts })));
// What the composition root wires (openRuntimeBackend): dockerode loaded on first use, ping over a bare socket request.
describeDockerEngineContract('lazy dockerode', () =>
  subject(({ telemetry, dockerConfigPath }) => openRuntimeBackend(testConfig({ RTMANAGER_DOCKER_CONFIG: dockerConfigPath }), { telemetry }).engine),
);

describe('pingDaemon', () => {
  it('is false, not an error, for a socket nobody serves and a closed TCP port', async () => {
    expect(await pingDaemon('unix:///var/run/docker.sock', 2_000)).toBe(true);
    expect(await pingDaemon('unix:///tmp/no-such-docker.sock', 2_000)).toBe(false);
    expect(await pingDaemon('tcp://127.0.0.1:1', 2_000)).toBe(false);
  });
});

describe('ContainerEngine on the real daemon', () => {
  it('passes every RunSpec field to the engine, and hardens it always', async () => {
    const network = await testNetwork();
    const run = randomUUID().slice(0, 8);
    // A `:` in the host path: a `src:dst:mode` bind string would split there.
    const hostPath = await mkdtemp(path.join(os.tmpdir(), 'rtm-spec:colon-'));
    try {
      const engine = new ContainerEngine({ docker });
      const result = await engine.run({
        name: `rtm-spec-${run}`,
        hostname: `rtm-spec-${run}`,
        image: 'galaxy-test-engine:labelled',
        network: network.name,
        env: { A: '1', STORAGE_PATH: '/state' },
        labels: { ...TEST_LABEL, 'com.galaxy.test_run': run },
        bindMounts: [{ hostPath, mountPath: '/state', readOnly: false }],
        logDriver: 'json-file',
        logOpts: { 'max-size': '5m', 'max-file': '2' },
        nanoCpus: 250_000_000,
        memoryBytes: 32 * 1024 * 1024,
        pidsLimit: 32,
        capDrop: ['ALL'],
        capAdd: ['NET_BIND_SERVICE'],
        readOnlyRootfs: true,
        scratchMounts: [{ mountPath: '/tmp', sizeBytes: 8 * 1024 * 1024 }],
        user: '65534:65534',
        stopSignal: 'SIGUSR2',
        stopTimeoutSeconds: 42,
      });
      const info = await docker.getContainer(result.containerId).inspect();
      expect(info.Config.Hostname).toBe(`rtm-spec-${run}`);
      // Contract §15: the container's own stop, which any stop of it uses (dockerode's types leave both out).
      expect(info.Config).toMatchObject({ StopSignal: 'SIGUSR2', StopTimeout: 42 });
      expect(info.Config.Env).toEqual(expect.arrayContaining(['A=1', 'STORAGE_PATH=/state']));
      expect(info.Config.User).toBe('65534:65534');
      expect(info.HostConfig.Binds).toBeNull();
      expect(info.HostConfig).toMatchObject({
        Mounts: [{ Type: 'bind', Source: hostPath, Target: '/state' }],
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=8388608' },
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        CapAdd: ['NET_BIND_SERVICE'],
        SecurityOpt: ['no-new-privileges'],
        MemorySwap: 32 * 1024 * 1024,
        Init: true,
        NetworkMode: network.name,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } },
        NanoCpus: 250_000_000,
        Memory: 32 * 1024 * 1024,
        PidsLimit: 32,
      });
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network.name]);
      expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: hostPath, Destination: '/state', RW: true })]);
    } finally {
      await removeByLabel({ 'com.galaxy.test_run': run });
      await network.remove();
      await rm(hostPath, { recursive: true, force: true });
    }
  });

  it("loosened: a writable root has no tmpfs, and no user means the image's", async () => {
    const network = await testNetwork();
    const run = randomUUID().slice(0, 8);
    try {
      const result = await new ContainerEngine({ docker }).run(looseSpec(`rtm-loose-${run}`, 'galaxy-test-engine:labelled', network.name, run));
      const info = await docker.getContainer(result.containerId).inspect();
      expect(info.Config.User).toBe('');
      expect(info.HostConfig).toMatchObject({ ReadonlyRootfs: false, SecurityOpt: ['no-new-privileges'], MemorySwap: 32 * 1024 * 1024, Init: true });
      expect(info.HostConfig.Tmpfs ?? {}).toEqual({});
    } finally {
      await removeByLabel({ 'com.galaxy.test_run': run });
      await network.remove();
    }
  });

  it('records the latency of each call', async () => {
    const telemetry = new RecordingTelemetry();
    const engine = new ContainerEngine({ docker, telemetry });
    await engine.ping();
    await engine.networkExists('none');
    expect(telemetry.dockerOps.map((o) => o.op)).toEqual(['ping', 'network_inspect']);
    expect(telemetry.dockerOps.every((o) => o.seconds >= 0)).toBe(true);
  });

  it('reports the daemon as down through ping, and its errors elsewhere', async () => {
    const engine = new ContainerEngine({ docker: new Dockerode({ socketPath: '/nonexistent.sock' }) });
    expect(await engine.ping()).toBe(false);
    await expect(engine.networkExists('x')).rejects.toThrow(/ENOENT|connect/);
  });
});

/** A run spec with nothing hardened: the image's own user, a writable root, no capability dropped. */
function looseSpec(name: string, image: string, network: string, run: string): RunSpec {
  return {
    name,
    hostname: name,
    image,
    network,
    env: {},
    labels: { ...TEST_LABEL, 'com.galaxy.test_run': run },
    bindMounts: [],
    logDriver: 'json-file',
    logOpts: {},
    nanoCpus: 250_000_000,
    memoryBytes: 32 * 1024 * 1024,
    pidsLimit: 32,
    capDrop: [],
    capAdd: [],
    readOnlyRootfs: false,
    scratchMounts: [],
    user: null,
    stopSignal: 'SIGTERM',
    stopTimeoutSeconds: 1,
  };
}

describe('ContainerEngine image inspections', () => {
  const inspections = (t: RecordingTelemetry) => t.dockerOps.filter((o) => o.op === 'image_inspect').length;

  it('a burst of starts asks the daemon about an image once while the answer is fresh', async () => {
    const telemetry = new RecordingTelemetry();
    let now = 1_000_000;
    const engine = new ContainerEngine({ docker, telemetry, imageCacheMs: 300, now: () => now });
    const asks = Array.from({ length: 20 }, async () => {
      await engine.pullImage('galaxy-test-engine:labelled', 'if_not_present');
      return engine.inspectImage('galaxy-test-engine:labelled');
    });
    const answers = await Promise.all(asks);
    expect(new Set(answers.map((a) => a.labels['com.galaxy.cpu_quota'])).size).toBe(1);
    expect(inspections(telemetry)).toBe(1);
    now += 299;
    await engine.inspectImage('galaxy-test-engine:labelled');
    expect(inspections(telemetry)).toBe(1);
    now += 1;
    await engine.inspectImage('galaxy-test-engine:labelled');
    expect(inspections(telemetry)).toBe(2);
  });

  it('an image removed while its inspect is kept: the create that finds it gone pulls it once per policy, then runs', async () => {
    const pushed = pushEngineImage();
    const network = await testNetwork();
    const run = randomUUID().slice(0, 8);
    const telemetry = new RecordingTelemetry();
    const options = { docker, telemetry, dockerConfigPath: testRegistry().dockerConfigPath, imageCacheMs: 60_000 };
    const engine = new ContainerEngine({ ...options, pullPolicy: 'if_not_present' });
    const never = new ContainerEngine({ ...options, pullPolicy: 'never' });
    try {
      expect(await engine.pullImage(pushed.ref, 'if_not_present')).toEqual({ kind: 'pulled' });
      await engine.inspectImage(pushed.ref); // as a start does after its pull: the labels
      expect(await never.pullImage(pushed.ref, 'never')).toEqual({ kind: 'present' });
      removeLocalImage(pushed.ref);
      // Both still believe it local: the inspect they keep is not a minute old.
      expect(await engine.pullImage(pushed.ref, 'if_not_present')).toEqual({ kind: 'present' });
      expect(await never.pullImage(pushed.ref, 'never')).toEqual({ kind: 'present' });

      await expect(never.run(looseSpec(`rtm-never-${run}`, pushed.ref, network.name, run))).rejects.toThrow(/No such image/);
      const result = await engine.run(looseSpec(`rtm-gone-${run}`, pushed.ref, network.name, run));
      expect((await docker.getContainer(result.containerId).inspect()).State.Running).toBe(true);
      expect(telemetry.dockerOps.filter((o) => o.op === 'pull')).toHaveLength(2);
    } finally {
      await removeByLabel({ 'com.galaxy.test_run': run });
      await network.remove();
      removeLocalImage(pushed.ref);
    }
  });

  it('a missing image is asked about again, never remembered', async () => {
    const telemetry = new RecordingTelemetry();
    const engine = new ContainerEngine({ docker, telemetry });
    await expect(engine.inspectImage('galaxy-test-engine:no-such-tag')).rejects.toThrow();
    await expect(engine.inspectImage('galaxy-test-engine:no-such-tag')).rejects.toThrow();
    expect(inspections(telemetry)).toBe(2);
  });
});
