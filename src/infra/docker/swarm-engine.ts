/**
 * The DockerEngine port on a Docker Swarm cluster, through one manager's
 * Engine API (RTMANAGER_RUNTIME_BACKEND=swarm). A game's engine is a
 * **service** `galaxy-game-{id}` with one replica and restart condition
 * `none`: the reconciler and the health events own restarts, as on one
 * engine. Swarm places its one task on a node, which pulls the image and
 * runs the container.
 *
 * What the port calls a container is the service's task, named by the
 * container id Swarm gave it (the id the record and the health events
 * carry, as on one engine); a service that has no container yet (its task
 * unplaced, or scaled to zero by a stop) is named by the service id.
 *
 * Images: the manager pulls per policy (the labels give the limits, and the
 * pulled digest pins the service, so every node runs the same bytes), and
 * the service carries the registry credentials (`X-Registry-Auth`, what
 * `--with-registry-auth` does) so the node it lands on can pull too.
 *
 * What Swarm (Engine API 1.41) cannot carry, and what is done instead:
 * `MemorySwap` (the node's default applies: run nodes without swap) and
 * `no-new-privileges` (set it per node: `dockerd --no-new-privileges`); the
 * README's "Many hosts" says so.
 */
import type Dockerode from 'dockerode';
import { unlimitedProblem } from '../../domain/container-spec.js';
import { DockerDeadlineExceeded, isDockerDeadline } from '../../domain/errors.js';
import { pulledDigest } from '../../domain/image-ref.js';
import type { ContainerInfo, EffectiveLimits, RunResult, RunSpec, RuntimeNode } from '../../domain/ports.js';
import { createError, daemonError, parseDockerTime, statusOf } from './daemon-errors.js';
import type { DockerodeEngineOptions } from './docker-engine.js';
import { DockerodeEngine, effectiveLimits } from './docker-engine.js';

export interface SwarmEngineOptions extends DockerodeEngineOptions {
  /** A task no node would take for this long fails its start, with Swarm's reason (RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS). */
  placementTimeoutMs?: number;
  /** Reserve the CPU and memory limits, so Swarm places an engine only where they fit (RTMANAGER_SWARM_RESERVE_LIMITS). */
  reserveLimits?: boolean;
  /** SIGTERM to kill on a stop: fixed per service at creation (RTMANAGER_STOP_TIMEOUT_SECONDS). */
  stopGracePeriodSeconds?: number;
  /** How often a task is looked at while the engine waits for it to start or stop. */
  taskPollMs?: number;
}

/** How long a removal waits for Swarm to reap the tasks a stop scaled down. */
const REAP_WAIT_MS = 10_000;

/** Task states after which a task never runs again. */
const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
/** Before a node took it. */
const UNPLACED = new Set(['new', 'pending']);
/** On its node, before its container starts: the node pulls the image here. */
const PREPARING = new Set(['assigned', 'accepted', 'preparing', 'ready']);

interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; Timestamp?: string; Message?: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

interface SwarmService {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
}

interface ServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: { Image: string; Labels?: Record<string, string>; [key: string]: unknown };
    Resources?: { Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }; Reservations?: { NanoCPUs?: number; MemoryBytes?: number } };
    [key: string]: unknown;
  };
  Mode?: { Replicated?: { Replicas?: number } };
  [key: string]: unknown;
}

interface SwarmNode {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

/** What a stop saw of the task it ended: the task itself is gone soon after (Swarm deletes a scaled-down task). */
interface StoppedTask {
  serviceId: string;
  containerId: string;
  exitCode: number | null;
  finishedAt: Date;
  node: RuntimeNode | null;
}

export class SwarmEngine extends DockerodeEngine {
  private readonly placementTimeoutMs: number;
  private readonly reserveLimits: boolean;
  private readonly stopGracePeriodSeconds: number;
  private readonly taskPollMs: number;
  /** Node id → hostname: a node keeps its name, so it is asked once. */
  private readonly nodeNames = new Map<string, string>();
  private readonly stopped = new Map<string, StoppedTask>();

  constructor(opts: SwarmEngineOptions) {
    super(opts);
    this.placementTimeoutMs = opts.placementTimeoutMs ?? 30_000;
    this.reserveLimits = opts.reserveLimits ?? true;
    this.stopGracePeriodSeconds = opts.stopGracePeriodSeconds ?? 10;
    this.taskPollMs = opts.taskPollMs ?? 50;
  }

  /** A service can join only a swarm-scoped network (overlay): a local bridge of the manager's is as good as missing. */
  override async networkExists(name: string): Promise<boolean> {
    try {
      const network = await this.call('network_inspect', (abortSignal) =>
        this.get<{ Scope?: string }>(`/networks/${encodeURIComponent(name)}`, { 404: 'no such network' }, abortSignal),
      );
      return network.Scope === 'swarm';
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw daemonError(error);
    }
  }

  override async run(spec: RunSpec): Promise<RunResult> {
    const image = await this.pinnedImage(spec.image);
    const auth = await this.credentials?.forImage(spec.image);
    let service: Dockerode.Service;
    try {
      service = await this.call('service_create', (abortSignal) => {
        const options = { ...this.serviceSpec(spec, image), abortSignal };
        // The credentials travel with the service (X-Registry-Auth): the node the task lands on pulls with them.
        return auth
          ? this.docker.createService(auth as Dockerode.AuthConfig, options as unknown as Dockerode.ServiceSpec)
          : this.docker.createService(options as unknown as Dockerode.CreateServiceOptions);
      });
    } catch (error) {
      throw createError(spec.name, error);
    }
    try {
      return await this.runResult(await this.waitForRunningTask(service.id, spec.name), this.serviceSpec(spec, image));
    } catch (error) {
      // Created but not running: nobody would own it. A re-run creates it afresh.
      await this.removeService(service.id).catch(() => undefined);
      throw isDeadline(error) ? error : daemonError(error);
    }
  }

  /**
   * A rolling update of the game's service to `spec` (stop-first: one
   * replica, one state directory), observed until the new task runs. A new
   * task that fails makes Swarm roll the service back to its previous spec,
   * which is waited for, and the update throws with the task's reason.
   */
  async replace(containerId: string, spec: RunSpec): Promise<RunResult> {
    try {
      const found = await this.find(containerId);
      if (!found?.task || found.service.Spec.Name !== spec.name) throw new Error(`no service ${spec.name} running container ${containerId} to update`);
      const { service, task: previous } = found;
      const image = await this.pinnedImage(spec.image);
      const auth = await this.credentials?.forImage(spec.image);
      const next = this.serviceSpec(spec, image);
      await this.call('service_update', (abortSignal) => {
        // dockerode sends `authconfig` as X-Registry-Auth, as for a create.
        return this.docker.getService(service.ID).update({ version: service.Version.Index, ...next, ...(auth ? { authconfig: auth } : {}), abortSignal });
      });
      try {
        const task = await this.waitForRunningTask(service.ID, spec.name, previous.ID);
        return await this.runResult(task, next);
      } catch (error) {
        await this.waitForRollback(service.ID);
        throw new Error(`swarm update of ${spec.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    } catch (error) {
      throw isDeadline(error) ? error : daemonError(error);
    }
  }

  override async inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    try {
      const found = await this.find(nameOrId);
      if (!found) return null;
      const nodes = await this.nodeStates();
      return await this.describe(found.service, found.task, nodes);
    } catch (error) {
      throw isDeadline(error) ? error : daemonError(error);
    }
  }

  /**
   * Scales the service to zero: Swarm sends the stop signal, kills after the
   * grace period the service was created with, and deletes the task. The exit
   * code is read while the task is still there, and kept for the inspect
   * that follows.
   */
  override async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      const found = await this.find(containerId);
      if (!found?.task || TERMINAL.has(found.task.Status.State) || found.task.DesiredState !== 'running') return;
      const { service, task } = found;
      await this.scale(service, 0);
      const nodes = await this.nodeStates();
      // A node that does not answer sends no news of its task: there is nothing to wait for.
      if (nodes.get(task.NodeID ?? '') === 'down') {
        this.rememberStopped(service.ID, task, null);
        return;
      }
      const deadline = Date.now() + (Math.max(timeoutSeconds, this.stopGracePeriodSeconds) + 1) * 1000 + this.deadlines.callMs;
      let exitCode: number | null = null;
      for (;;) {
        const current = (await this.tasksOf(service.ID)).find((t) => t.ID === task.ID);
        if (!current) break;
        if (TERMINAL.has(current.Status.State)) {
          exitCode = current.Status.ContainerStatus?.ExitCode ?? null;
          break;
        }
        if (Date.now() > deadline) throw new DockerDeadlineExceeded('service_stop', deadline - Date.now());
        await sleep(this.taskPollMs);
      }
      this.rememberStopped(service.ID, task, exitCode);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw isDeadline(error) ? error : daemonError(error);
    }
  }

  /** Removes the service the container belongs to; a service already gone is fine. */
  override async remove(containerId: string): Promise<void> {
    try {
      const found = await this.find(containerId);
      if (!found) return;
      await this.removeService(found.service.ID);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw isDeadline(error) ? error : daemonError(error);
    }
  }

  /** Our services carrying the labels, each as its current task. */
  override async listContainers(labels: Record<string, string>): Promise<ContainerInfo[]> {
    try {
      const services = await this.call('service_list', (abortSignal) =>
        this.docker.listServices({ filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }, abortSignal }),
      );
      if (services.length === 0) return [];
      const [tasks, nodes] = await Promise.all([this.allTasks(), this.nodeStates()]);
      const byService = new Map<string, SwarmTask[]>();
      for (const task of tasks) byService.set(task.ServiceID, [...(byService.get(task.ServiceID) ?? []), task]);
      const out: ContainerInfo[] = [];
      for (const service of services as unknown as SwarmService[]) {
        // A running task is described from the listing alone, as one engine's list does: the worker
        // reads every game this way each second, and a container inspect apiece would load the manager.
        out.push(await this.describe(service, currentTask(byService.get(service.ID) ?? []), nodes, { inspectRunning: false }));
      }
      return out;
    } catch (error) {
      throw isDeadline(error) ? error : daemonError(error);
    }
  }

  private async runResult(task: SwarmTask, spec: ServiceSpec): Promise<RunResult> {
    const containerId = task.Status.ContainerStatus?.ContainerID ?? '';
    const local = await this.localContainer(containerId);
    return {
      containerId,
      startedAt: (local && parseDockerTime(local.State.StartedAt)) ?? parseDockerTime(task.Status.Timestamp) ?? new Date(),
      effective: local ? effectiveLimits(local.HostConfig) : specLimits(spec),
      node: await this.nodeOf(task.NodeID),
    };
  }

  // --- the service's shape -------------------------------------------------

  private serviceSpec(spec: RunSpec, image: string): ServiceSpec {
    // Swarm reads a zero limit as none (and leaves it out of the spec): such a spec never reaches it.
    const unlimited = unlimitedProblem(spec);
    if (unlimited) throw new Error(unlimited);
    const limits = { NanoCPUs: spec.nanoCpus, MemoryBytes: spec.memoryBytes, Pids: spec.pidsLimit };
    return {
      Name: spec.name,
      Labels: spec.labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Hostname: spec.hostname,
          Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          Labels: spec.labels,
          ...(spec.user === null ? {} : { User: spec.user }),
          // Typed mounts; a tmpfs mount is nosuid,nodev (and noexec) by Docker's own default.
          Mounts: [
            ...spec.bindMounts.map((m) => ({ Type: 'bind', Source: m.hostPath, Target: m.mountPath, ReadOnly: m.readOnly })),
            ...spec.scratchMounts.map((m) => ({ Type: 'tmpfs', Target: m.mountPath, TmpfsOptions: { SizeBytes: m.sizeBytes } })),
          ],
          ReadOnly: spec.readOnlyRootfs,
          CapabilityDrop: spec.capDrop,
          CapabilityAdd: spec.capAdd,
          Init: true,
          StopGracePeriod: this.stopGracePeriodSeconds * 1e9,
        },
        Resources: {
          Limits: limits,
          // Swarm places by reservations only: without them it would stack engines on a full node.
          Reservations: this.reserveLimits ? { NanoCPUs: spec.nanoCpus, MemoryBytes: spec.memoryBytes } : {},
        },
        RestartPolicy: { Condition: 'none' },
        LogDriver: { Name: spec.logDriver, Options: spec.logOpts },
        Networks: [{ Target: spec.network }],
      },
      Mode: { Replicated: { Replicas: 1 } },
      // One engine per game and one state directory: the old task stops before the new one starts.
      // A new task that fails (within a second of running) rolls the service back to the previous spec.
      UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback', Monitor: 1e9 },
      RollbackConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
      // The name resolves to the task's own address, not to a virtual IP: a VIP needs IPVS in every
      // node's kernel (this machine has none), and one replica has nothing to balance.
      EndpointSpec: { Mode: 'dnsrr' },
    };
  }

  /**
   * The ref pinned to the digest the manager pulled, as `docker service
   * create` pins it: every node runs the same image even if the tag moves.
   * An image known only locally (built here, never pushed) stays as given.
   */
  private async pinnedImage(ref: string): Promise<string> {
    if (ref.includes('@')) return ref;
    try {
      const image = await this.inspectImage(ref);
      const digest = pulledDigest(ref, image);
      return digest === image.id ? ref : `${ref}@${digest}`;
    } catch {
      return ref;
    }
  }

  // --- waiting on tasks ----------------------------------------------------

  /**
   * Until the service's task runs. Each phase has its own deadline: a task
   * no node takes (no node with the resources) fails after the placement
   * timeout with Swarm's reason; one whose node is pulling has the pull's
   * deadline; a container that does not start has a call's.
   */
  private async waitForRunningTask(serviceId: string, name: string, replacing?: string): Promise<SwarmTask> {
    let phase = '';
    let phaseStarted = Date.now();
    for (;;) {
      const task = currentTask((await this.tasksOf(serviceId)).filter((t) => t.ID !== replacing));
      const state = task?.Status.State ?? 'new';
      if (state === 'running' && task) return task;
      const reason = task?.Status.Err || task?.Status.Message || '';
      if (TERMINAL.has(state)) throw new Error(`swarm task of ${name} ${state}: ${reason}`);
      const current = UNPLACED.has(state) ? 'unplaced' : PREPARING.has(state) ? 'preparing' : 'starting';
      if (current !== phase) {
        phase = current;
        phaseStarted = Date.now();
      }
      const allowed = phase === 'unplaced' ? this.placementTimeoutMs : phase === 'preparing' ? this.deadlines.pullMs : this.deadlines.callMs;
      if (Date.now() - phaseStarted > allowed) {
        if (phase === 'unplaced') throw new Error(`swarm could not place ${name} on any node within ${allowed} ms: ${reason || state}`);
        throw new DockerDeadlineExceeded(`service_${phase}`, allowed);
      }
      await sleep(this.taskPollMs);
    }
  }

  /** Until Swarm has put the previous spec back (or gave up doing so), bounded by a pull's deadline: the node may pull it again. */
  private async waitForRollback(serviceId: string): Promise<void> {
    const deadline = Date.now() + this.deadlines.pullMs;
    while (Date.now() < deadline) {
      const service = await this.inspectService(serviceId);
      const state = (service as { UpdateStatus?: { State?: string } } | null)?.UpdateStatus?.State ?? '';
      if (!service || ['rollback_paused', 'paused'].includes(state)) return;
      // Completed once the previous spec's task is there; it is back once that task runs.
      if (state === 'rollback_completed' && currentTask(await this.tasksOf(serviceId))?.Status.State === 'running') return;
      await sleep(this.taskPollMs * 4);
    }
  }

  private tasksOf(serviceId: string): Promise<SwarmTask[]> {
    return this.call('task_list', (abortSignal) => this.docker.listTasks({ filters: { service: [serviceId] }, abortSignal })) as Promise<SwarmTask[]>;
  }

  private allTasks(): Promise<SwarmTask[]> {
    return this.call('task_list', (abortSignal) => this.docker.listTasks({ abortSignal })) as Promise<SwarmTask[]>;
  }

  // --- finding a game's service --------------------------------------------

  /**
   * A service by name or id, or the service whose task has (or, stopped,
   * had) this container; with the task that stands for it.
   */
  private async find(nameOrId: string): Promise<{ service: SwarmService; task: SwarmTask | null } | null> {
    const service = await this.inspectService(nameOrId);
    if (service) return { service, task: currentTask(await this.tasksOf(service.ID)) };
    if (!/^[0-9a-f]{12,64}$/.test(nameOrId)) return null;
    const task = (await this.allTasks()).find((t) => t.Status.ContainerStatus?.ContainerID?.startsWith(nameOrId));
    const serviceId = task?.ServiceID ?? [...this.stopped.values()].find((s) => s.containerId.startsWith(nameOrId))?.serviceId;
    if (!serviceId) return null;
    const owner = await this.inspectService(serviceId);
    if (!owner) return null;
    // The container's own task, even when a newer one has replaced it.
    return { service: owner, task: task ?? null };
  }

  private async inspectService(nameOrId: string): Promise<SwarmService | null> {
    try {
      return await this.call('service_inspect', (abortSignal) =>
        this.get<SwarmService>(`/services/${encodeURIComponent(nameOrId)}`, { 404: 'no such service' }, abortSignal),
      );
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  private async scale(service: SwarmService, replicas: number): Promise<void> {
    const spec: ServiceSpec = { ...service.Spec, Mode: { Replicated: { Replicas: replicas } } };
    await this.call('service_update', (abortSignal) => this.docker.getService(service.ID).update({ version: service.Version.Index, ...spec, abortSignal }));
  }

  private async removeService(serviceId: string): Promise<void> {
    // Docker 20.10's manager panics (swarmkit's SetServiceTasksRemove meets a task deleted under
    // it, and the whole dockerd dies) when a service is removed while Swarm is reaping the tasks
    // a scale-down left: let those go first. Bounded: a node that is down never reports them.
    const until = Date.now() + REAP_WAIT_MS;
    while (Date.now() < until && (await this.tasksOf(serviceId)).some((t) => t.DesiredState === 'remove')) await sleep(this.taskPollMs);
    try {
      await this.call('service_remove', (abortSignal) => this.docker.getService(serviceId).remove({ abortSignal } as unknown as Record<string, unknown>));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    this.stopped.delete(serviceId);
  }

  private rememberStopped(serviceId: string, task: SwarmTask, exitCode: number | null): void {
    this.stopped.set(serviceId, {
      serviceId,
      containerId: task.Status.ContainerStatus?.ContainerID ?? '',
      exitCode,
      finishedAt: new Date(),
      node: task.NodeID ? { id: task.NodeID, hostname: this.nodeNames.get(task.NodeID) ?? task.NodeID } : null,
    });
    // Bounded: a stop is followed by a remove, which forgets it; a crash between them must not leak.
    if (this.stopped.size > 1024) this.stopped.delete(this.stopped.keys().next().value!);
  }

  // --- describing ----------------------------------------------------------

  /** The port's view of a service through its task (or, with none, of the service: not running). */
  private async describe(
    service: SwarmService,
    task: SwarmTask | null,
    nodes: Map<string, string>,
    opts: { inspectRunning: boolean } = { inspectRunning: true },
  ): Promise<ContainerInfo> {
    const spec = service.Spec;
    const containerSpec = spec.TaskTemplate.ContainerSpec;
    const labels = containerSpec.Labels ?? spec.Labels ?? {};
    const image = containerSpec.Image.replace(/@sha256:[0-9a-f]{64}$/, '');
    const pinned = /@(sha256:[0-9a-f]{64})$/.exec(containerSpec.Image)?.[1] ?? '';
    const stopped = this.stopped.get(service.ID);
    if (!task) {
      return {
        id: stopped?.containerId || service.ID,
        name: spec.Name,
        image,
        imageId: pinned,
        labels,
        state: stopped ? 'exited' : 'created',
        running: false,
        exitCode: stopped?.exitCode ?? null,
        oomKilled: false,
        startedAt: null,
        finishedAt: stopped?.finishedAt ?? null,
        effective: specLimits(spec),
        node: stopped?.node ?? null,
        unreachable: false,
      };
    }
    const containerId = task.Status.ContainerStatus?.ContainerID ?? '';
    const state = task.Status.State;
    const unreachable = nodes.get(task.NodeID ?? '') === 'down' && !TERMINAL.has(state);
    const terminal = TERMINAL.has(state);
    const local = terminal || opts.inspectRunning ? await this.localContainer(containerId) : null;
    const exitCode = terminal ? (local?.State.ExitCode ?? task.Status.ContainerStatus?.ExitCode ?? null) : null;
    return {
      id: containerId || service.ID,
      name: spec.Name,
      image,
      // Else the manager's copy of the image the service names (cached: many games share an image).
      imageId:
        local?.Image ??
        (await this.inspectImage(containerSpec.Image).then(
          (i) => i.id,
          () => pinned,
        )),
      labels,
      state,
      running: state === 'running' && !unreachable,
      exitCode,
      oomKilled: local?.State.OOMKilled ?? false,
      startedAt: (local && parseDockerTime(local.State.StartedAt)) ?? (state === 'running' ? parseDockerTime(task.Status.Timestamp) : null),
      finishedAt: terminal ? ((local && parseDockerTime(local.State.FinishedAt)) ?? parseDockerTime(task.Status.Timestamp)) : null,
      effective: local ? effectiveLimits(local.HostConfig) : specLimits(spec),
      node: await this.nodeOf(task.NodeID),
      unreachable,
    };
  }

  /** The container when it runs on the manager's own node; null on another node (or gone). */
  private async localContainer(containerId: string): Promise<Dockerode.ContainerInspectInfo | null> {
    if (!containerId) return null;
    try {
      return await this.call('inspect', (abortSignal) => this.docker.getContainer(containerId).inspect({ abortSignal }));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  private async nodeOf(nodeId: string | undefined): Promise<RuntimeNode | null> {
    if (!nodeId) return null;
    let hostname = this.nodeNames.get(nodeId);
    if (hostname === undefined) {
      const node = await this.call('node_inspect', (abortSignal) =>
        this.get<SwarmNode>(`/nodes/${encodeURIComponent(nodeId)}`, { 404: 'no such node' }, abortSignal),
      ).catch(() => null);
      hostname = node?.Description?.Hostname ?? nodeId;
      if (node) this.nodeNames.set(nodeId, hostname);
    }
    return { id: nodeId, hostname };
  }

  /** Node id → `ready`, `down`, …: one call for a whole listing. */
  private async nodeStates(): Promise<Map<string, string>> {
    const nodes = (await this.call('node_list', (abortSignal) => this.docker.listNodes({ abortSignal }))) as SwarmNode[];
    const states = new Map<string, string>();
    for (const node of nodes) {
      states.set(node.ID, node.Status?.State ?? 'unknown');
      if (node.Description?.Hostname) this.nodeNames.set(node.ID, node.Description.Hostname);
    }
    return states;
  }
}

/**
 * The task that stands for the service: the one meant to run (the newest if
 * several, as during an update), else the newest of all.
 */
function currentTask(tasks: SwarmTask[]): SwarmTask | null {
  const newest = [...tasks].sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
  return newest.find((t) => t.DesiredState === 'running') ?? newest[0] ?? null;
}

/** What the service asks for: all a remote container can be known by here. Swarm passes it to the container as it is. */
function specLimits(spec: ServiceSpec): EffectiveLimits {
  const limits = spec.TaskTemplate.Resources?.Limits ?? {};
  return { cpuQuota: (limits.NanoCPUs ?? 0) / 1e9, memoryBytes: limits.MemoryBytes ?? 0, pidsLimit: limits.Pids ?? 0 };
}

const isDeadline = isDockerDeadline;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
