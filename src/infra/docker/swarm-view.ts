/**
 * The port's view of a game's Swarm service: its task as a ContainerInfo or
 * a RunResult, read from the task, the service's spec, the nodes, and the
 * container itself when it runs on the manager's own node.
 */
import type Dockerode from 'dockerode';
import type { ContainerInfo, RunResult, RuntimeNode } from '../../domain/engine-port.js';
import { effectiveLimits } from './container-engine.js';
import type { DaemonClient } from './daemon-client.js';
import { parseDockerTime, statusOf } from './daemon-errors.js';
import { healthOfState } from './health.js';
import type { ImageStore } from './image-store.js';
import type { ServiceSpec, SwarmNode, SwarmService, SwarmTask } from './swarm-service-spec.js';
import { TERMINAL, specLimits, specStop } from './swarm-service-spec.js';
import type { StoppedTask } from './swarm-services.js';

export class SwarmView {
  /** Node id → hostname: a node keeps its name, so it is asked once. */
  private readonly nodeNames = new Map<string, string>();
  private nodesInFlight: Promise<Map<string, string>> | null = null;

  constructor(
    private readonly client: DaemonClient,
    private readonly images: ImageStore,
  ) {}

  async runResult(task: SwarmTask, spec: ServiceSpec): Promise<RunResult> {
    const containerId = task.Status.ContainerStatus?.ContainerID ?? '';
    const local = await this.localContainer(containerId);
    return {
      containerId,
      startedAt: (local && parseDockerTime(local.State.StartedAt)) ?? parseDockerTime(task.Status.Timestamp) ?? new Date(),
      effective: local ? effectiveLimits(local.HostConfig) : specLimits(spec),
      node: await this.nodeOf(task.NodeID),
    };
  }

  /** The port's view of a service through its task (or, with none, of the service: not running). */
  async describe(
    service: SwarmService,
    task: SwarmTask | null,
    nodes: Map<string, string>,
    stopped: StoppedTask | undefined,
    /** `local`: the container as the caller already read it (find did), not read again. */
    opts: { inspectRunning?: boolean; local?: Dockerode.ContainerInspectInfo | null } = {},
  ): Promise<ContainerInfo> {
    const spec = service.Spec;
    const containerSpec = spec.TaskTemplate.ContainerSpec;
    const labels = containerSpec.Labels ?? spec.Labels ?? {};
    const image = containerSpec.Image.replace(/@sha256:[0-9a-f]{64}$/, '');
    const pinned = /@(sha256:[0-9a-f]{64})$/.exec(containerSpec.Image)?.[1] ?? '';
    const common = { name: spec.Name, image, labels };
    if (!task) return taskless(service, common, pinned, stopped);
    const containerId = task.Status.ContainerStatus?.ContainerID ?? '';
    const state = task.Status.State;
    const unreachable = nodes.get(task.NodeID ?? '') === 'down' && !TERMINAL.has(state);
    const terminal = TERMINAL.has(state);
    const known = opts.local && containerId && opts.local.Id === containerId ? opts.local : undefined;
    const local = terminal || (opts.inspectRunning ?? true) ? (known ?? (await this.localContainer(containerId))) : null;
    const exitCode = terminal ? (local?.State.ExitCode ?? task.Status.ContainerStatus?.ExitCode ?? null) : null;
    // Else the manager's copy of the image the service names (cached: many games share an image).
    const imageInfo = local ? null : await this.images.inspect(containerSpec.Image).catch(() => null);
    return {
      id: containerId || service.ID,
      ...common,
      imageId: local?.Image ?? imageInfo?.id ?? pinned,
      state,
      running: state === 'running' && !unreachable,
      exitCode,
      oomKilled: local?.State.OOMKilled ?? false,
      startedAt: (local && parseDockerTime(local.State.StartedAt)) ?? (state === 'running' ? parseDockerTime(task.Status.Timestamp) : null),
      finishedAt: terminal ? ((local && parseDockerTime(local.State.FinishedAt)) ?? parseDockerTime(task.Status.Timestamp)) : null,
      effective: local ? effectiveLimits(local.HostConfig) : specLimits(spec),
      node: await this.nodeOf(task.NodeID),
      unreachable,
      // Unseen (another node's, or not inspected): Swarm runs a task with a HEALTHCHECK only once healthy, and ends it unhealthy.
      health: local ? healthOfState(local.State) : state === 'running' && imageInfo?.healthcheck ? 'healthy' : 'none',
      ...specStop(spec),
    };
  }

  /** The container when it runs on the manager's own node; null on another node (or gone). */
  async localContainer(containerId: string): Promise<Dockerode.ContainerInspectInfo | null> {
    if (!containerId) return null;
    try {
      return await this.client.call('inspect', (abortSignal) => this.client.docker.getContainer(containerId).inspect({ abortSignal }));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async nodeOf(nodeId: string | undefined): Promise<RuntimeNode | null> {
    if (!nodeId) return null;
    let hostname = this.nodeNames.get(nodeId);
    if (hostname === undefined) {
      const node = await this.client.inspect<SwarmNode>('node_inspect', `/nodes/${encodeURIComponent(nodeId)}`, 'no such node').catch(() => null);
      hostname = node?.Description?.Hostname ?? nodeId;
      if (node) this.nodeNames.set(nodeId, hostname);
    }
    return { id: nodeId, hostname };
  }

  /** The node as far as it is known without asking (a stop's record of where its task ran). */
  knownNode(nodeId: string | undefined): RuntimeNode | null {
    return nodeId ? { id: nodeId, hostname: this.nodeNames.get(nodeId) ?? nodeId } : null;
  }

  /**
   * Node id → `ready`, `down`, …: one call for a whole listing. Callers at
   * the same time share the call in flight (a reconcile pass inspects
   * sixteen games at once), so an answer may have been asked for a moment
   * before its caller asked: no older than one call.
   */
  nodeStates(): Promise<Map<string, string>> {
    this.nodesInFlight ??= this.readNodeStates().finally(() => {
      this.nodesInFlight = null;
    });
    return this.nodesInFlight;
  }

  private async readNodeStates(): Promise<Map<string, string>> {
    const nodes = (await this.client.call('node_list', (abortSignal) => this.client.docker.listNodes({ abortSignal }))) as SwarmNode[];
    const states = new Map<string, string>();
    for (const node of nodes) {
      states.set(node.ID, node.Status?.State ?? 'unknown');
      if (node.Description?.Hostname) this.nodeNames.set(node.ID, node.Description.Hostname);
    }
    return states;
  }
}

/** A service with no task: not running; what a stop saw of its last one, if it did. */
function taskless(
  service: SwarmService,
  common: Pick<ContainerInfo, 'name' | 'image' | 'labels'>,
  pinned: string,
  stopped: StoppedTask | undefined,
): ContainerInfo {
  return {
    id: stopped?.containerId || service.ID,
    ...common,
    imageId: pinned,
    state: stopped ? 'exited' : 'created',
    running: false,
    exitCode: stopped?.exitCode ?? null,
    oomKilled: false,
    startedAt: null,
    finishedAt: stopped?.finishedAt ?? null,
    effective: specLimits(service.Spec),
    node: stopped?.node ?? null,
    unreachable: false,
    health: 'none',
    ...specStop(service.Spec),
  };
}
