/**
 * Issue 13, "many nodes on one machine": three dockerd, each in a network
 * namespace of its own, joined into one swarm by scripts/swarm-nodes.sh.
 *
 * Phase A drives Swarm itself through dockerode on the manager's socket: game
 * services spread over the nodes, an engine is reached by its service name
 * from a container on another node, and a worker's dockerd killed is seen by
 * the manager (node down) within a bounded time while the other nodes' games
 * are untouched.
 *
 * Run alone: npx vitest run --project cluster (or test/swarm/multinode.test.ts
 * with --testTimeout 300000). Needs root (namespaces), the test images in the
 * default engine (the script builds them when missing), ~10 s of setup.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, SwarmNode, TaskView } from './multinode-support.js';
import { createEngineService, nodeState, openCluster, probeByName, secondsSince, swarmNodes, tasksOf, until } from './multinode-support.js';

const run = Math.random().toString(36).slice(2, 8);
const GAMES = 5;

describe('many nodes on one machine: Swarm itself', () => {
  let cluster: Cluster;
  const names = Array.from({ length: GAMES }, (_, i) => `galaxy-game-mn${run}-${i + 1}`);
  /** service name → its running task, once all run. */
  const placed = new Map<string, TaskView>();
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    const t = Date.now();
    console.log(await swarmNodes(['up', '3'], 120_000));
    cluster = await openCluster();
    timings.swarmUp = secondsSince(t);
  }, 150_000);

  afterAll(async () => {
    console.log(`multinode timings (s): ${JSON.stringify(timings)}`);
    // down finds every node by its cgroup and namespace, whatever state the test left.
    console.log(await swarmNodes(['down'], 120_000));
  }, 150_000);

  const nodeOf = (id: string): SwarmNode => {
    const node = cluster.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  };

  it('has three Ready nodes, one manager', async () => {
    const nodes = (await cluster.manager.listNodes()) as Array<{ Status: { State: string }; ManagerStatus?: { Leader?: boolean } }>;
    expect(nodes.map((n) => n.Status.State)).toEqual(['ready', 'ready', 'ready']);
    expect(nodes.filter((n) => n.ManagerStatus?.Leader)).toHaveLength(1);
    expect(new Set(cluster.nodes.map((n) => n.hostname))).toEqual(new Set(['rtm-node-1', 'rtm-node-2', 'rtm-node-3']));
  });

  it('spreads game services over the nodes', async () => {
    const t = Date.now();
    for (const [i, name] of names.entries()) await createEngineService(cluster, name, `mn${run}-${i + 1}`, { 'com.galaxy.test': 'multinode' });
    for (const name of names) {
      const task = await until(`${name} running`, 60_000, async () => (await tasksOf(cluster.manager, name)).find((x) => x.state === 'running'));
      placed.set(name, task);
    }
    timings.spread = secondsSince(t);
    const perNode = new Map<string, string[]>();
    for (const [name, task] of placed) perNode.set(nodeOf(task.nodeId).hostname, [...(perNode.get(nodeOf(task.nodeId).hostname) ?? []), name]);
    console.log(`placement: ${JSON.stringify(Object.fromEntries([...perNode].map(([h, n]) => [h, n.length])))}`);
    expect(perNode.size).toBeGreaterThanOrEqual(2);
    // Each task's container is on the node Swarm says, with our labels.
    for (const [name, task] of placed) {
      const info = await nodeOf(task.nodeId).docker.getContainer(task.containerId).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels['com.galaxy.owner']).toBe('rtmanager');
      expect(info.Config.Labels['com.swarm.service.name'] ?? info.Config.Labels['com.docker.swarm.service.name']).toBe(name);
    }
  }, 120_000);

  it('reaches an engine by its service name from a container on another node', async () => {
    const t = Date.now();
    const [name, task] = [...placed][0]!;
    const home = nodeOf(task.nodeId);
    const other = cluster.nodes.find((n) => n.id !== home.id)!;
    const probe = await probeByName(other, cluster.overlay, name);
    timings.crossNodeProbe = secondsSince(t);
    console.log(`${name} on ${home.hostname}, probed from ${other.hostname}: resolved to ${probe.address}`);
    const engine = await home.docker.getContainer(task.containerId).inspect();
    const engineAddress = Object.values(engine.NetworkSettings.Networks as Record<string, { IPAddress: string }>).map((n) => n.IPAddress);
    expect(engineAddress).toContain(probe.address);
    expect(probe.body).toContain('galaxy test engine');
    expect(probe.body.replace(/\r\n/g, '\n').trim()).toBe(readFileSync('test/images/engine/index.html', 'utf8').trim()); // Tty: CRLF
  }, 60_000);

  it("a worker's dockerd SIGKILLed: the manager marks its node down in bounded time, its tasks lose their desired state, the others are untouched", async () => {
    // The worker with the most games (never the manager: it is the one we ask).
    const byNode = new Map<string, string[]>();
    for (const [name, task] of placed) byNode.set(task.nodeId, [...(byNode.get(task.nodeId) ?? []), name]);
    const victim = cluster.nodes
      .slice(1)
      .filter((n) => byNode.has(n.id))
      .sort((a, b) => byNode.get(b.id)!.length - byNode.get(a.id)!.length)[0];
    expect(victim, 'a worker runs at least one game').toBeDefined();
    const doomed = byNode.get(victim!.id)!;
    const survivors = names.filter((n) => !doomed.includes(n));
    const before = new Map<string, string>();
    for (const name of survivors) {
      const task = placed.get(name)!;
      before.set(name, (await nodeOf(task.nodeId).docker.getContainer(task.containerId).inspect()).State.StartedAt);
    }

    const pid = Number(readFileSync(victim!.pidfile, 'utf8').trim());
    const t = Date.now();
    process.kill(pid, 'SIGKILL');
    const down = await until(`${victim!.hostname} down`, 30_000, async () => {
      const s = await nodeState(cluster.manager, victim!.id);
      return s.state === 'down' ? s : undefined;
    });
    timings.nodeDownAfterKill = secondsSince(t);
    console.log(`${victim!.hostname} (${doomed.length} games) down after ${timings.nodeDownAfterKill} s: ${JSON.stringify(down)}`);
    expect(down.message).toMatch(/heartbeat/);

    // Swarm cannot know what became of those tasks: it keeps their last
    // observed state (running) and only sets the desired state to shutdown
    // (restart condition none: no replacement). An adapter must read the
    // node's state (or the desired state), not the task's, to see them gone.
    for (const name of doomed) {
      const tasks = await until(`${name} desired shutdown`, 15_000, async () => {
        const all = await tasksOf(cluster.manager, name);
        return all.every((x) => x.desiredState === 'shutdown') ? all : undefined;
      });
      timings.desiredShutdownAfterKill ??= secondsSince(t);
      console.log(`${name}: ${JSON.stringify(tasks.map(({ state, desiredState, message }) => ({ state, desiredState, message })))}`);
      expect(tasks).toHaveLength(1); // restart condition none: no new task anywhere
      expect(tasks[0]!.nodeId).toBe(victim!.id);
    }

    // Nothing else touched: the same task, running, desired running, the
    // same container started at the same instant, and still answering.
    for (const name of survivors) {
      const tasks = await tasksOf(cluster.manager, name);
      expect(tasks.map((x) => [x.id, x.state, x.desiredState])).toEqual([[placed.get(name)!.id, 'running', 'running']]);
      const home = nodeOf(placed.get(name)!.nodeId);
      const info = await home.docker.getContainer(placed.get(name)!.containerId).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.State.StartedAt).toBe(before.get(name));
    }
    const living = survivors.find((n) => placed.get(n)!.nodeId !== cluster.nodes[0]!.id) ?? survivors[0];
    if (living) {
      const probe = await probeByName(cluster.nodes[0]!, cluster.overlay, living);
      expect(probe.body).toContain('galaxy test engine');
    }
  }, 90_000);
});
