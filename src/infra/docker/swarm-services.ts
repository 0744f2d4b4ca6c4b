/**
 * Finding, changing and waiting on a game's Swarm service and its tasks,
 * through the daemon client; and what a stop saw of the task it ended,
 * which Swarm deletes soon after.
 */
import type Dockerode from 'dockerode';
import type { RuntimeNode } from '../../domain/engine-port.js';
import { DockerDeadlineExceeded } from '../../domain/errors.js';
import { LABEL_OWNER, LABEL_OWNER_VALUE } from '../../domain/model.js';
import type { DaemonClient } from './daemon-client.js';
import { statusOf } from './daemon-errors.js';
import type { ServiceSpec, SwarmService, SwarmTask } from './swarm-service-spec.js';
import { PREPARING, TERMINAL, UNPLACED, currentTask, sleep } from './swarm-service-spec.js';

/** Every service of ours carries it (contract §12's owner label). */
const OWNED = { [LABEL_OWNER]: LABEL_OWNER_VALUE };
/** The labels Docker puts on a task's container, naming its service and task. */
const SWARM_SERVICE_ID = 'com.docker.swarm.service.id';
const SWARM_TASK_ID = 'com.docker.swarm.task.id';
const FULL_CONTAINER_ID = /^[0-9a-f]{64}$/;

/** How long a removal waits for Swarm to reap the tasks a stop scaled down. */
const REAP_WAIT_MS = 10_000;

/** What a stop saw of the task it ended: the task itself is gone soon after (Swarm deletes a scaled-down task). */
export interface StoppedTask {
  serviceId: string;
  containerId: string;
  exitCode: number | null;
  finishedAt: Date;
  node: RuntimeNode | null;
}

export interface SwarmWaits {
  /** A task no node would take for this long fails its start, with Swarm's reason. */
  placementTimeoutMs: number;
  /** How often a task is looked at while the engine waits for it to start or stop. */
  taskPollMs: number;
}

/** A game's service, the task that stands for it, and its container when this manager's daemon has it. */
export interface Found {
  service: SwarmService;
  task: SwarmTask | null;
  local: Dockerode.ContainerInspectInfo | null;
}

export class SwarmServices {
  private readonly stopped = new Map<string, StoppedTask>();

  constructor(
    private readonly client: DaemonClient,
    private readonly waits: SwarmWaits,
    /** A container as this manager's own daemon has it; null when it is not there (another node's, or gone). */
    private readonly readLocal: (containerId: string) => Promise<Dockerode.ContainerInspectInfo | null>,
  ) {}

  tasksOf(serviceId: string): Promise<SwarmTask[]> {
    return this.client.call('task_list', (abortSignal) => this.client.docker.listTasks({ filters: { service: [serviceId] }, abortSignal })) as Promise<
      SwarmTask[]
    >;
  }

  /**
   * The tasks of the services carrying these labels (ours carry the owner's),
   * not the whole swarm's: Swarm filters tasks by their service's labels, so
   * the cost follows our games, not what else the cluster runs.
   */
  labelledTasks(labels: Record<string, string> = OWNED): Promise<SwarmTask[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    return this.client.call('task_list', (abortSignal) => this.client.docker.listTasks({ filters: { label }, abortSignal })) as Promise<SwarmTask[]>;
  }

  /**
   * A service by name or id, or the service whose task has (or, stopped,
   * had) this container; with the task that stands for it, and the
   * container as this manager's daemon read it when it runs on its node.
   */
  async find(nameOrId: string): Promise<Found | null> {
    // A full container id is no service's (their ids are 25 characters): no service inspect that can only miss.
    const service = FULL_CONTAINER_ID.test(nameOrId) ? null : await this.inspect(nameOrId);
    if (service) return { service, task: currentTask(await this.tasksOf(service.ID)), local: null };
    if (!/^[0-9a-f]{12,64}$/.test(nameOrId)) return null;
    // On this manager's node the container's labels name its service and task: two calls, whatever the swarm's size.
    const local = await this.readLocal(nameOrId);
    const labels = local?.Config.Labels ?? {};
    const [serviceId, taskId] = [labels[SWARM_SERVICE_ID], labels[SWARM_TASK_ID]];
    if (serviceId && taskId) {
      const [owner, tasks] = await Promise.all([this.inspect(serviceId), this.taskById(taskId)]);
      return owner ? { service: owner, task: tasks.find((t) => t.ID === taskId) ?? null, local } : null;
    }
    // Another node's: among our own tasks (not the whole swarm's).
    const task = (await this.labelledTasks()).find((t) => t.Status.ContainerStatus?.ContainerID?.startsWith(nameOrId));
    const ownerId = task?.ServiceID ?? [...this.stopped.values()].find((s) => s.containerId.startsWith(nameOrId))?.serviceId;
    if (!ownerId) return null;
    const owner = await this.inspect(ownerId);
    if (!owner) return null;
    // The container's own task, even when a newer one has replaced it.
    return { service: owner, task: task ?? null, local: null };
  }

  private taskById(taskId: string): Promise<SwarmTask[]> {
    return this.client.call('task_list', (abortSignal) => this.client.docker.listTasks({ filters: { id: [taskId] }, abortSignal })) as Promise<SwarmTask[]>;
  }

  async inspect(nameOrId: string): Promise<SwarmService | null> {
    try {
      return await this.client.inspect<SwarmService>('service_inspect', `/services/${encodeURIComponent(nameOrId)}`, 'no such service');
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async scale(service: SwarmService, replicas: number): Promise<void> {
    const spec: ServiceSpec = { ...service.Spec, Mode: { Replicated: { Replicas: replicas } } };
    await this.client.call('service_update', (abortSignal) =>
      this.client.docker.getService(service.ID).update({ version: service.Version.Index, ...spec, abortSignal }),
    );
  }

  async remove(serviceId: string): Promise<void> {
    // Docker 20.10's manager panics (swarmkit's SetServiceTasksRemove meets a task deleted under
    // it, and the whole dockerd dies) when a service is removed while Swarm is reaping the tasks
    // a scale-down left: let those go first. Bounded: a node that is down never reports them.
    const until = Date.now() + REAP_WAIT_MS;
    while (Date.now() < until && (await this.tasksOf(serviceId)).some((t) => t.DesiredState === 'remove')) await sleep(this.waits.taskPollMs);
    try {
      await this.client.call('service_remove', (abortSignal) =>
        this.client.docker.getService(serviceId).remove({ abortSignal } as unknown as Record<string, unknown>),
      );
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    this.stopped.delete(serviceId);
  }

  /**
   * Until the service's task runs. Each phase has its own deadline: a task
   * no node takes (no node with the resources) fails after the placement
   * timeout with Swarm's reason; one whose node is pulling has the pull's
   * deadline; a container that does not start has a call's.
   * `startedIsEnough`: a task `starting` with its container is enough (one
   * with a HEALTHCHECK, whose wait for healthy is the caller's).
   */
  async waitForRunningTask(serviceId: string, name: string, replacing?: string, startedIsEnough = false): Promise<SwarmTask> {
    let phase = '';
    let phaseStarted = Date.now();
    for (;;) {
      const task = currentTask((await this.tasksOf(serviceId)).filter((t) => t.ID !== replacing));
      const state = task?.Status.State ?? 'new';
      if (state === 'running' && task) return task;
      if (startedIsEnough && state === 'starting' && task?.Status.ContainerStatus?.ContainerID) return task;
      const reason = task?.Status.Err || task?.Status.Message || '';
      if (TERMINAL.has(state)) throw new Error(`swarm task of ${name} ${state}: ${reason}`);
      const current = UNPLACED.has(state) ? 'unplaced' : PREPARING.has(state) ? 'preparing' : 'starting';
      if (current !== phase) {
        phase = current;
        phaseStarted = Date.now();
      }
      const allowed = this.phaseAllowedMs(phase);
      if (Date.now() - phaseStarted > allowed) {
        if (phase === 'unplaced') throw new Error(`swarm could not place ${name} on any node within ${allowed} ms: ${reason || state}`);
        throw new DockerDeadlineExceeded(`service_${phase}`, allowed);
      }
      await sleep(this.waits.taskPollMs);
    }
  }

  private phaseAllowedMs(phase: string): number {
    const { deadlines } = this.client;
    return phase === 'unplaced' ? this.waits.placementTimeoutMs : phase === 'preparing' ? deadlines.pullMs : deadlines.callMs;
  }

  /** Until Swarm has put the previous spec back (or gave up doing so), bounded by a pull's deadline: the node may pull it again. */
  async waitForRollback(serviceId: string): Promise<void> {
    const deadline = Date.now() + this.client.deadlines.pullMs;
    while (Date.now() < deadline) {
      const service = await this.inspect(serviceId);
      const state = (service as { UpdateStatus?: { State?: string } } | null)?.UpdateStatus?.State ?? '';
      if (!service || ['rollback_paused', 'paused'].includes(state)) return;
      // Completed once the previous spec's task is there; it is back once that task runs.
      if (state === 'rollback_completed' && currentTask(await this.tasksOf(serviceId))?.Status.State === 'running') return;
      await sleep(this.waits.taskPollMs * 4);
    }
  }

  /**
   * Until the stopped task is terminal (or gone), bounded by the stop's own
   * grace and a call's deadline; its exit code, when it had one.
   */
  async waitForStopped(serviceId: string, task: SwarmTask, graceSeconds: number): Promise<number | null> {
    const deadline = Date.now() + (graceSeconds + 1) * 1000 + this.client.deadlines.callMs;
    for (;;) {
      const current = (await this.tasksOf(serviceId)).find((t) => t.ID === task.ID);
      if (!current) return null;
      if (TERMINAL.has(current.Status.State)) return current.Status.ContainerStatus?.ExitCode ?? null;
      if (Date.now() > deadline) throw new DockerDeadlineExceeded('service_stop', deadline - Date.now());
      await sleep(this.waits.taskPollMs);
    }
  }

  rememberStopped(serviceId: string, task: SwarmTask, exitCode: number | null, node: RuntimeNode | null): void {
    this.stopped.set(serviceId, { serviceId, containerId: task.Status.ContainerStatus?.ContainerID ?? '', exitCode, finishedAt: new Date(), node });
    // Bounded: a stop is followed by a remove, which forgets it; a crash between them must not leak.
    if (this.stopped.size > 1024) this.stopped.delete(this.stopped.keys().next().value!);
  }

  stoppedOf(serviceId: string): StoppedTask | undefined {
    return this.stopped.get(serviceId);
  }
}
