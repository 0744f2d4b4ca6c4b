/**
 * The one-node swarm of `scripts/services.sh up --swarm` is what the swarm
 * project's tests assume: a manager on a dockerd of its own, not the
 * machine's default engine, and one that gives every task's container
 * no_new_privs — a service spec cannot carry `no-new-privileges` (Engine API
 * 1.41), so the node's `dockerd --no-new-privileges` is what sets it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOCKER_HOST, createTestNetwork, gameTasks, removeGames, testDocker, testDockerHost } from '../support/backend.js';
import { TEST_LABEL } from '../support/services.js';

const docker = testDocker();
const run = randomUUID().slice(0, 8);
afterAll(async () => {
  await removeGames(docker, { name: [`galaxy-game-nnp${run}`] });
});

describe('the private swarm engine', () => {
  it('is a swarm manager on its own dockerd, not the default engine', async () => {
    expect(testDockerHost()).not.toBe(DEFAULT_DOCKER_HOST);
    // Not by engine ID: every dockerd on a machine takes it from /etc/docker/key.json.
    const [swarm, machine] = (await Promise.all([docker.info(), testDocker('docker').info()])) as Array<{
      DockerRootDir: string;
      Swarm: { LocalNodeState: string; ControlAvailable: boolean };
    }>;
    expect(swarm!.DockerRootDir).not.toBe(machine!.DockerRootDir);
    expect(swarm!.Swarm).toMatchObject({ LocalNodeState: 'active', ControlAvailable: true });
  });

  it('gives a service task’s container no_new_privs', async () => {
    const network = await createTestNetwork(`rtm-nnp-${run}`, {}, docker);
    try {
      const gameId = `nnp${run}`;
      await docker.createService({
        Name: `galaxy-game-${gameId}`,
        Labels: { ...TEST_LABEL },
        TaskTemplate: {
          ContainerSpec: {
            Image: 'galaxy-test-engine:labelled',
            Command: ['/bin/busybox'],
            Args: ['sh', '-c', 'grep NoNewPrivs /proc/self/status; exec sleep 60'],
            Labels: { ...TEST_LABEL },
          },
          RestartPolicy: { Condition: 'none' },
          Networks: [{ Target: network.name }],
        },
        Mode: { Replicated: { Replicas: 1 } },
      });
      let containerId = '';
      await expect
        .poll(
          async () => {
            const [task] = await gameTasks(gameId, docker);
            containerId = task?.Status.State === 'running' ? (task.Status.ContainerStatus?.ContainerID ?? '') : '';
            return containerId;
          },
          { timeout: 30_000, interval: 100 },
        )
        .not.toBe('');
      const container = docker.getContainer(containerId);
      expect((await container.inspect()).HostConfig.SecurityOpt ?? []).not.toContain('no-new-privileges');
      await expect.poll(async () => (await container.logs({ stdout: true, stderr: true })).toString(), { timeout: 10_000 }).toMatch(/NoNewPrivs:\s+1/);
    } finally {
      await removeGames(docker, { name: [`galaxy-game-nnp${run}`] });
      await network.remove().catch(() => undefined);
    }
  });
});
