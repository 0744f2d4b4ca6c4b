/**
 * The DockerEngine contract on the Swarm adapter, against the one-node swarm
 * of `scripts/services.sh up --swarm` (a private dockerd: the machine's own
 * engine never becomes a swarm manager), and what only Swarm does: placement
 * that fails with Swarm's reason, the service's shape, a task that dies.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { dockerFromHost } from '../../src/infra/docker/daemon-client.js';
import { SwarmEngine } from '../../src/infra/docker/swarm-engine.js';
import { contractRunSpec, describeDockerEngineContract, describeReplaceContract } from '../contracts/docker-engine.contract.js';
import { subjectRunner } from '../contracts/subject.js';
import { RecordingTelemetry } from '../fakes/support.js';
import { pushEngineImage, testRegistry } from '../support/registry.js';
import { TEST_LABEL } from '../support/services.js';
import { removeGames } from '../support/backend.js';

function swarmHost(): string {
  const host = process.env.RTM_TEST_SWARM_HOST;
  if (!host) throw new Error('RTM_TEST_SWARM_HOST unset; run: bash scripts/services.sh up --swarm, then source var/services.env');
  return host;
}

const docker: Dockerode = dockerFromHost(swarmHost());

/** Removes an image from the swarm engine (the default engine's copy is removeLocalImage's). */
async function removeSwarmImage(ref: string): Promise<void> {
  await docker
    .getImage(ref)
    .remove({ force: true })
    .catch(() => undefined);
}

async function subject(opts: { placementTimeoutMs?: number; taskPollMs?: number } = {}) {
  const telemetry = new RecordingTelemetry();
  const run = randomUUID().slice(0, 8);
  const port = new SwarmEngine({
    docker,
    telemetry,
    dockerConfigPath: testRegistry().dockerConfigPath,
    reserveLimits: true,
    ...opts,
  });
  const network = `rtm-sw-${run}`;
  await docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true, Labels: { ...TEST_LABEL } });
  const extraLabels = { ...TEST_LABEL, 'com.galaxy.test_run': run };
  const pulled: string[] = [];
  const unreachableLocalImage = `127.0.0.1:1/galaxy-test/engine-${run}:v1`;
  await docker.getImage('galaxy-test-engine:labelled').tag({ repo: unreachableLocalImage.replace(/:v1$/, ''), tag: 'v1' });
  return {
    port,
    telemetry,
    localImage: 'galaxy-test-engine:labelled',
    healthImage: 'galaxy-test-engine:healthcheck',
    busyImage: 'galaxy-test-engine:busy',
    chatterImage: 'galaxy-test-engine:chatter',
    remoteImage: 'registry.invalid/galaxy/engine:1',
    pullableImage: () => {
      // Pushed from the machine's engine, which keeps no copy: the swarm's engine must download it.
      const { ref } = pushEngineImage();
      pulled.push(ref);
      return Promise.resolve(ref);
    },
    unreachableLocalImage,
    downloads: () => telemetry.dockerOps.filter((o) => o.op === 'pull').length,
    network,
    prefix: `rtm-s-${run}`,
    extraLabels,
    cleanup: async () => {
      // The services, then their containers, which Swarm removes a moment later.
      await removeGames(docker, { label: [`com.galaxy.test_run=${run}`] });
      // The network goes once its last task has: Swarm detaches them asynchronously.
      for (let i = 0; i < 40; i++) {
        const gone = await docker
          .getNetwork(network)
          .remove()
          .then(
            () => true,
            (error: { statusCode?: number }) => error.statusCode === 404,
          );
        if (gone) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      for (const ref of [...pulled, unreachableLocalImage]) await removeSwarmImage(ref);
    },
  };
}

describeDockerEngineContract('swarm', () => subject());
describeReplaceContract('swarm', async () => ({ ...(await subject()), otherImage: 'galaxy-test-engine:labelled-v2' }));

type Subject = Awaited<ReturnType<typeof subject>>;

/** The digest the registry holds for a pushed ref, from its manifest (HEAD, with the test registry's credentials). */
async function registryDigest(ref: string): Promise<{ digest: string }> {
  const { host, user, password } = testRegistry();
  const [repo, tag] = ref.slice(host.length + 1).split(':') as [string, string];
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      accept: 'application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  const digest = res.headers.get('docker-content-digest');
  if (!digest) throw new Error(`no digest for ${ref}: HTTP ${res.status}`);
  return { digest };
}

/** The placement test's timeout, and how often the engine looks at a task meanwhile (SwarmEngine's default). */
const PLACEMENT_MS = 1_500;
const TASK_POLL_MS = 50;

const withSubject = (body: (s: Subject) => Promise<void>, opts: Parameters<typeof subject>[0] = {}) => subjectRunner(() => subject(opts))(body);
const spec = contractRunSpec;

describe('SwarmEngine on a one-node swarm', () => {
  it(
    'a game is a service of one replica, restart condition none, labelled as its container, on the node the record names',
    withSubject(async (s) => {
      const state = await mkdtemp(path.join(os.tmpdir(), 'rtm-sw-state-'));
      try {
        const run = await s.port.run(spec(s, 'shape', { bindMounts: [{ hostPath: state, mountPath: '/state', readOnly: false }] }));
        const service = await docker.getService(`${s.prefix}-shape`).inspect();
        expect(service.Spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
        expect(service.Spec.EndpointSpec).toEqual({ Mode: 'dnsrr' });
        expect(service.Spec.TaskTemplate.RestartPolicy).toMatchObject({ Condition: 'none' });
        expect(service.Spec.Labels).toMatchObject({ 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'shape' });
        expect(service.Spec.TaskTemplate.Resources).toEqual({
          Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024, Pids: 64 },
          Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024 },
        });
        const info = await docker.getContainer(run.containerId).inspect();
        expect(info.Config.Hostname).toBe(`${s.prefix}-shape`);
        expect(info.Config.Labels).toMatchObject({ 'com.galaxy.owner': 'rtmanager', 'com.docker.swarm.service.name': `${s.prefix}-shape` });
        expect(info.Config.User).toBe('65534:65534');
        expect(info.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ['ALL'], Init: true, NanoCpus: 500_000_000, PidsLimit: 64 });
        expect(info.HostConfig.Mounts).toEqual([
          { Type: 'bind', Source: state, Target: '/state' },
          { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 8 * 1024 * 1024 } },
        ]);
        const self = (await docker.info()) as { Swarm: { NodeID: string }; Name: string };
        expect(run.node).toEqual({ id: self.Swarm.NodeID, hostname: self.Name });
        expect((await s.port.inspectContainer(run.containerId))?.node).toEqual(run.node);
      } finally {
        await rm(state, { recursive: true, force: true });
      }
    }),
  );

  it(
    'a task no node has the resources for fails the run with Swarm’s reason after the placement timeout, and leaves no service',
    withSubject(
      async (s) => {
        const began = Date.now();
        await expect(s.port.run(spec(s, 'huge', { memoryBytes: 1024 ** 4 }))).rejects.toThrow(
          /could not place .*-huge on any node within 1500 ms: no suitable node \(insufficient resources on 1 node\)/,
        );
        // Bounded by the engine's own looks at the task, not a stopwatch: it waited the placement timeout out (no
        // sooner), and gave up at its first look after it. A look comes at most every TASK_POLL_MS, so the wait has at
        // most PLACEMENT_MS / TASK_POLL_MS of them, plus the first, the one past the timeout and the removal's; a
        // loaded machine makes fewer, never more.
        expect(Date.now() - began).toBeGreaterThan(PLACEMENT_MS);
        const looks = s.telemetry.dockerOps.filter((o) => o.op === 'task_list').length;
        expect(looks).toBeLessThanOrEqual(PLACEMENT_MS / TASK_POLL_MS + 3);
        expect(await s.port.inspectContainer(`${s.prefix}-huge`)).toBeNull();
      },
      { placementTimeoutMs: PLACEMENT_MS, taskPollMs: TASK_POLL_MS },
    ),
  );

  it(
    'a task its node refuses fails the run with the node’s reason, and leaves no service',
    withSubject(async (s) => {
      const missing = path.join(os.tmpdir(), `rtm-no-such-dir-${s.prefix}`);
      await expect(s.port.run(spec(s, 'refused', { bindMounts: [{ hostPath: missing, mountPath: '/state', readOnly: false }] }))).rejects.toThrow(
        /swarm task of .*-refused rejected: .*bind source path does not exist/,
      );
      expect(await s.port.inspectContainer(`${s.prefix}-refused`)).toBeNull();
    }),
  );

  it(
    'a container that dies behind our back is a task that is no longer running, with its exit code',
    withSubject(async (s) => {
      const run = await s.port.run(spec(s, 'dies'));
      await docker.getContainer(run.containerId).kill({ signal: 'SIGKILL' });
      await expect
        .poll(async () => s.port.inspectContainer(run.containerId), { timeout: 15_000, interval: 200 })
        .toMatchObject({ id: run.containerId, running: false, exitCode: 137, unreachable: false });
      const listed = await s.port.listContainers({ 'com.galaxy.game_id': 'dies', ...s.extraLabels });
      expect(listed).toEqual([expect.objectContaining({ id: run.containerId, running: false, exitCode: 137 })]);
    }),
  );

  it(
    'reads only our services’ tasks: a listing, an inspect by container id and a stop never list the whole swarm’s',
    withSubject(async (s) => {
      // Someone else's service on the same swarm (no owner label): none of its tasks may be read.
      const foreign = await docker.createService({
        Name: `${s.prefix}-foreign`,
        Labels: { ...s.extraLabels },
        TaskTemplate: { ContainerSpec: { Image: 'galaxy-test-engine:plain' }, RestartPolicy: { Condition: 'none' } },
      } as unknown as Dockerode.CreateServiceOptions);
      await expect.poll(async () => (await docker.listTasks({ filters: { service: [foreign.id] } })).length).toBeGreaterThan(0);
      // The same daemon, each task listing recorded: what it asked for, and whose tasks came back.
      const watched = dockerFromHost(swarmHost());
      const asked: unknown[] = [];
      const answered = new Set<string>();
      const listTasks = watched.listTasks.bind(watched) as (opts?: { filters?: unknown }) => Promise<Array<{ ServiceID: string }>>;
      Object.assign(watched, {
        listTasks: async (opts?: { filters?: unknown }) => {
          asked.push(opts?.filters);
          const tasks = await listTasks(opts);
          for (const t of tasks) answered.add(t.ServiceID);
          return tasks;
        },
      });
      const port = new SwarmEngine({ docker: watched, reserveLimits: true });
      const run = await port.run(spec(s, 'own'));
      const listed = await port.listContainers({ 'com.galaxy.game_id': 'own', ...s.extraLabels });
      expect(listed).toEqual([expect.objectContaining({ id: run.containerId, running: true })]);
      expect(await port.inspectContainer(run.containerId)).toMatchObject({ id: run.containerId, running: true });
      await port.stop(run.containerId, 1);
      expect((await port.inspectContainer(run.containerId))?.running ?? false).toBe(false);
      expect(asked.length).toBeGreaterThan(3);
      expect(asked.filter((f) => !f || Object.keys(f).length === 0)).toEqual([]);
      expect(answered.has(foreign.id)).toBe(false);
    }),
  );

  it(
    'the node pulls a private image itself with the credentials the service carries, pinned to its digest',
    withSubject(async (s) => {
      // Not pulled by the manager first: only the credentials the service carries can get it onto the node.
      const ref = await s.pullableImage();
      const { digest } = await registryDigest(ref);
      const run = await s.port.run(spec(s, 'private', { image: ref }));
      const service = await docker.getService(`${s.prefix}-private`).inspect();
      // Not pinned: the manager had no local copy to read a digest from, so the node resolved the tag itself.
      expect(service.Spec.TaskTemplate.ContainerSpec.Image).toBe(ref);
      const info = await docker.getContainer(run.containerId).inspect();
      expect((await docker.getImage(info.Image).inspect()).RepoDigests).toContain(`${ref.replace(/:v1$/, '')}@${digest}`);
      // Pulled by the manager, the next one is pinned to what it pulled.
      await s.port.pullImage(ref, 'always');
      await s.port.run(spec(s, 'pinned', { image: ref }));
      expect((await docker.getService(`${s.prefix}-pinned`).inspect()).Spec.TaskTemplate.ContainerSpec.Image).toBe(`${ref}@${digest}`);
    }),
  );

  it(
    'without credentials the node cannot pull the private image, and the run fails with the node’s reason',
    withSubject(async (s) => {
      const ref = await s.pullableImage();
      const anonymous = new SwarmEngine({ docker });
      // The node's pull was refused; what it reports is that the image is not there.
      await expect(anonymous.run(spec(s, 'anon', { image: ref }))).rejects.toThrow(`-anon rejected: No such image: ${ref}`);
      expect(await s.port.inspectContainer(`${s.prefix}-anon`)).toBeNull();
    }),
  );

  it(
    'a bridge network of the manager’s own is not one a service can join',
    withSubject(async (s) => {
      const name = `${s.prefix}-bridge`;
      // Made for real, or the test fails: were it missing, "no such network" would be trivially true.
      const bridge = await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { ...TEST_LABEL } });
      try {
        // The swarm engine runs with --bridge none; a user bridge still has local scope.
        expect(await bridge.inspect()).toMatchObject({ Name: name, Driver: 'bridge', Scope: 'local' });
        expect(await s.port.networkExists(name)).toBe(false);
        expect(await s.port.networkExists(s.network)).toBe(true);
      } finally {
        await bridge.remove();
      }
    }),
  );
});
