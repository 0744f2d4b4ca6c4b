/**
 * The many-nodes swarm of scripts/swarm-nodes.sh, seen from a test: one
 * dockerode per node (each node's API is a unix socket on the shared
 * filesystem, so the test process needs no route into the namespaces), and
 * the little things the proof asks of it: wait for tasks, probe an engine by
 * name from a container on another node, power a node off.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/swarm-nodes.sh');
export const IMAGE = 'galaxy-test-engine:labelled';

export interface SwarmNode {
  index: number;
  docker: Dockerode;
  /** Swarm's node id (its task's NodeID). */
  id: string;
  hostname: string;
  address: string;
  pidfile: string;
}

export interface Cluster {
  nodes: SwarmNode[];
  manager: Dockerode;
  overlay: string;
}

/** Runs the script; its output goes to the test's log. Bounded by `timeoutMs`. */
export async function swarmNodes(args: string[], timeoutMs: number): Promise<string> {
  const { stdout, stderr } = await run('bash', [SCRIPT, ...args], { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 });
  return `${stdout}${stderr}`;
}

export async function openCluster(): Promise<Cluster> {
  const env = Object.fromEntries(
    readFileSync(path.join(ROOT, 'var/swarm-nodes/nodes.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const count = Number(env.RTM_SWARM_NODES);
  const nodes: SwarmNode[] = [];
  for (let k = 1; k <= count; k++) {
    const docker = new Dockerode({ socketPath: env[`RTM_SWARM_NODE_${k}_SOCK`]! });
    const info = (await docker.info()) as { Name: string; Swarm: { NodeID: string } };
    nodes.push({
      index: k,
      docker,
      id: info.Swarm.NodeID,
      hostname: info.Name,
      address: env[`RTM_SWARM_NODE_${k}_ADDR`]!,
      pidfile: env[`RTM_SWARM_NODE_${k}_PIDFILE`]!,
    });
  }
  return { nodes, manager: nodes[0]!.docker, overlay: env.RTM_SWARM_OVERLAY! };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value (not undefined); throws after `withinMs`. */
export async function until<T>(what: string, withinMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${withinMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await sleep(everyMs);
  }
}

export interface TaskView {
  id: string;
  serviceId: string;
  nodeId: string;
  state: string;
  desiredState: string;
  message: string;
  err: string;
  containerId: string;
}

export async function tasksOf(manager: Dockerode, serviceName: string): Promise<TaskView[]> {
  const tasks = (await manager.listTasks({ filters: { service: [serviceName] } })) as Array<{
    ID: string;
    ServiceID: string;
    NodeID?: string;
    DesiredState: string;
    Status: { State: string; Message?: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
  }>;
  return tasks.map((t) => ({
    id: t.ID,
    serviceId: t.ServiceID,
    nodeId: t.NodeID ?? '',
    state: t.Status.State,
    desiredState: t.DesiredState,
    message: t.Status.Message ?? '',
    err: t.Status.Err ?? '',
    containerId: t.Status.ContainerStatus?.ContainerID ?? '',
  }));
}

export async function nodeState(manager: Dockerode, nodeId: string): Promise<{ state: string; message: string }> {
  const node = (await manager.getNode(nodeId).inspect()) as { Status: { State: string; Message?: string } };
  return { state: node.Status.State, message: node.Status.Message ?? '' };
}

/**
 * A game engine as the issue's adapter makes it: a service with one replica
 * that Swarm never restarts, on the overlay. Endpoint mode dnsrr: this kernel
 * has no IPVS, so a virtual IP resolves but carries nothing ("No route to
 * host"); with dnsrr the service name resolves to the task's own address.
 */
export async function createEngineService(cluster: Cluster, name: string, gameId: string, extraLabels: Record<string, string>) {
  const labels = { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': gameId, ...extraLabels };
  return cluster.manager.createService({
    Name: name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, Labels: labels, Hostname: name },
      RestartPolicy: { Condition: 'none' },
      Networks: [{ Target: cluster.overlay, Aliases: [name] }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  });
}

/**
 * From a fresh container on `node`, on the overlay: resolve `name` through
 * Docker's embedded DNS (static busybox cannot resolve names itself), then
 * GET http://{address}:{port}/. Returns the probe's output; bounded.
 */
export async function probeByName(node: SwarmNode, overlay: string, name: string, port = 8080): Promise<{ address: string; body: string; output: string }> {
  const script = [
    `out=$(/bin/busybox nslookup ${name} 127.0.0.11 2>&1)`,
    `ip=$(echo "$out" | /bin/busybox awk '/^Address/ && $NF !~ /^127\\./ {print $NF}' | /bin/busybox tail -n 1)`,
    'echo "resolved=$ip"',
    '[ -n "$ip" ] || { echo "$out"; exit 2; }',
    `/bin/busybox timeout 10 /bin/busybox wget -q -O - "http://$ip:${port}/"`,
  ].join('\n');
  const container = await node.docker.createContainer({
    Image: IMAGE,
    Entrypoint: ['/bin/busybox', 'sh', '-c', script],
    Tty: true,
    Labels: { 'com.galaxy.test': 'multinode-probe' },
    HostConfig: { NetworkMode: overlay },
  });
  try {
    await container.start();
    const waited = await Promise.race([container.wait(), sleep(30_000).then(() => null)]);
    if (!waited) throw new Error(`probe for ${name} on ${node.hostname} did not finish in 30 s`);
    const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    const address = /resolved=(\S*)/.exec(output)?.[1] ?? '';
    return { address, body: output.replace(/^resolved=.*$/m, '').trim(), output };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

export function secondsSince(t: number): string {
  return ((Date.now() - t) / 1000).toFixed(1);
}
