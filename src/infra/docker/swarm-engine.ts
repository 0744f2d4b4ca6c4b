/**
 * The DockerEngine port on a Docker Swarm cluster, through one manager's
 * Engine API (RTMANAGER_RUNTIME_BACKEND=swarm). A game's engine is a
 * **service** `galaxy-game-{id}` with one replica and restart condition
 * `none`: the reconciler and the health events own restarts, as on one
 * engine. Swarm places its one task on a node, which pulls the image and
 * runs the container. A sibling of the container engine: both speak through
 * a DaemonClient and get their images from an ImageStore.
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
import { isDockerDeadline } from '../../domain/errors.js';
import { pulledDigest } from '../../domain/image-ref.js';
import type { PullPolicy } from '../../domain/model.js';
import type {
  ContainerInfo,
  DockerEngine,
  EngineLogs,
  EngineStats,
  HealthVerdict,
  ImageInfo,
  LogQuery,
  PullOptions,
  PullOutcome,
  RunResult,
  RunSpec,
} from '../../domain/engine-port.js';
import type { EngineOptions } from './container-engine.js';
import { daemonSampler, readStats } from './container-stats.js';
import { DaemonClient } from './daemon-client.js';
import { modemDaemonRequests } from './daemon-requests.js';
import { createError, daemonError, statusOf } from './daemon-errors.js';
import { SWARM_ENGINE_CAPABILITIES } from './engine-capabilities.js';
import { ImageStore } from './image-store.js';
import type { ServiceShape, SwarmService, SwarmTask } from './swarm-service-spec.js';
import { TERMINAL, currentTask, serviceSpec, specStop } from './swarm-service-spec.js';
import { awaitTaskHealth } from './swarm-health.js';
import { SwarmServices } from './swarm-services.js';
import { SwarmView } from './swarm-view.js';
import { openTaskLogs } from './task-logs.js';

export interface SwarmEngineOptions extends EngineOptions {
  /** A task no node would take for this long fails its start, with Swarm's reason (RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS). */
  placementTimeoutMs?: number;
  /** Reserve the CPU and memory limits, so Swarm places an engine only where they fit (RTMANAGER_SWARM_RESERVE_LIMITS). */
  reserveLimits?: boolean;
  /** How often a task is looked at while the engine waits for it to start or stop. */
  taskPollMs?: number;
  /** How often a followed task's log reader looks at whether the task is over (RTMANAGER_SWARM_POLL_MS). */
  logPollMs?: number;
}

export class SwarmEngine implements DockerEngine {
  readonly capabilities = SWARM_ENGINE_CAPABILITIES;
  private readonly client: DaemonClient;
  private readonly images: ImageStore;
  private readonly services: SwarmServices;
  private readonly view: SwarmView;
  private readonly shape: ServiceShape;
  private readonly taskPollMs: number;
  private readonly logPollMs: number;

  constructor(opts: SwarmEngineOptions) {
    this.client = new DaemonClient(opts);
    this.images = new ImageStore(this.client, opts);
    this.taskPollMs = opts.taskPollMs ?? 50;
    this.logPollMs = opts.logPollMs ?? 1_000;
    this.view = new SwarmView(this.client, this.images);
    const waits = { placementTimeoutMs: opts.placementTimeoutMs ?? 30_000, taskPollMs: this.taskPollMs };
    this.services = new SwarmServices(this.client, waits, (id) => this.view.localContainer(id));
    this.shape = { reserveLimits: opts.reserveLimits ?? true };
  }

  ping(): Promise<boolean> {
    return this.client.ping();
  }

  /** A service can join only a swarm-scoped network (overlay): a local bridge of the manager's is as good as missing. */
  async networkExists(name: string): Promise<boolean> {
    return (await this.client.network(name))?.Scope === 'swarm';
  }

  pullImage(ref: string, policy: PullPolicy, options?: PullOptions): Promise<PullOutcome> {
    return this.images.pull(ref, policy, options);
  }

  inspectImage(ref: string): Promise<ImageInfo> {
    return this.images.inspect(ref);
  }

  async run(spec: RunSpec): Promise<RunResult> {
    const image = await this.pinnedImage(spec.image);
    const auth = await this.images.registryAuth(spec.image);
    let service: Dockerode.Service;
    try {
      service = await this.client.call('service_create', (abortSignal) => {
        const options = { ...serviceSpec(spec, image, this.shape), abortSignal };
        // The credentials travel with the service (X-Registry-Auth): the node the task lands on pulls with them.
        return auth
          ? this.client.docker.createService(auth as Dockerode.AuthConfig, options as unknown as Dockerode.ServiceSpec)
          : this.client.docker.createService(options as unknown as Dockerode.CreateServiceOptions);
      });
    } catch (error) {
      throw createError(spec.name, error);
    }
    try {
      // A task with a HEALTHCHECK stays `starting` until healthy: its start's await_healthy waits for that, under its own timeout.
      const started = await this.services.waitForRunningTask(service.id, spec.name, undefined, await this.healthchecked(spec.image));
      return await this.view.runResult(started, serviceSpec(spec, image, this.shape));
    } catch (error) {
      // Created but not running: nobody would own it. A re-run creates it afresh.
      await this.services.remove(service.id).catch(() => undefined);
      throw isDockerDeadline(error) ? error : daemonError(error);
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
      const found = await this.services.find(containerId);
      if (!found?.task || found.service.Spec.Name !== spec.name) throw new Error(`no service ${spec.name} running container ${containerId} to update`);
      return await this.update(found.service, found.task, spec);
    } catch (error) {
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  private async update(service: SwarmService, previous: SwarmTask, spec: RunSpec): Promise<RunResult> {
    const image = await this.pinnedImage(spec.image);
    const auth = await this.images.registryAuth(spec.image);
    const next = serviceSpec(spec, image, this.shape);
    await this.client.call('service_update', (abortSignal) => {
      // dockerode sends `authconfig` as X-Registry-Auth, as for a create.
      return this.client.docker.getService(service.ID).update({ version: service.Version.Index, ...next, ...(auth ? { authconfig: auth } : {}), abortSignal });
    });
    try {
      const task = await this.services.waitForRunningTask(service.ID, spec.name, previous.ID);
      return await this.view.runResult(task, next);
    } catch (error) {
      await this.services.waitForRollback(service.ID);
      throw new Error(`swarm update of ${spec.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async awaitHealth(containerId: string, timeoutMs: number): Promise<HealthVerdict> {
    try {
      return await awaitTaskHealth(this.view, this.services, containerId, timeoutMs, this.taskPollMs);
    } catch (error) {
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  async openLogs(containerId: string, query: LogQuery, signal: AbortSignal): Promise<EngineLogs | null> {
    try {
      const requests = modemDaemonRequests(this.client.docker);
      const opts = { deadlineMs: this.client.deadlines.callMs, pollMs: this.logPollMs };
      return await this.client.timed('logs', () => openTaskLogs(requests, containerId, query, signal, opts));
    } catch (error) {
      throw daemonError(error);
    }
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    try {
      const [found, nodes] = await Promise.all([this.services.find(nameOrId), this.view.nodeStates()]);
      if (!found) return null;
      return await this.view.describe(found.service, found.task, nodes, this.services.stoppedOf(found.service.ID), { local: found.local });
    } catch (error) {
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  /**
   * The reading of the task's container, from the daemon of its node: the
   * manager's own, the one this engine speaks to. Swarm has no stats of a
   * service or task, so a container on another node cannot be read: that
   * throws, naming the node.
   */
  async stats(containerId: string): Promise<EngineStats | null> {
    try {
      const found = await this.services.find(containerId);
      const id = found?.task?.Status.ContainerStatus?.ContainerID;
      if (!found?.task || found.task.Status.State !== 'running' || !id) return null;
      const local = await this.view.localContainer(id);
      if (!local) {
        const node = await this.view.nodeOf(found.task.NodeID);
        throw new Error(
          `the engine runs on node ${node?.hostname ?? 'unknown'}: Docker reads a container's stats only from its own node's daemon, and this manager's is not it`,
        );
      }
      return local.State.Running ? await readStats(daemonSampler(this.client, id)) : null;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  /**
   * Scales the service to zero: Swarm sends the stop signal and kills after
   * the grace period the service was created with (its spec's, whatever
   * `timeoutSeconds` says: waited for as the longer of the two), and deletes
   * the task. The exit code is read while the task is still there, and kept
   * for the inspect that follows.
   */
  async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      const found = await this.services.find(containerId);
      if (!found?.task || TERMINAL.has(found.task.Status.State) || found.task.DesiredState !== 'running') return;
      const { service, task } = found;
      await this.services.scale(service, 0);
      const nodes = await this.view.nodeStates();
      // A node that does not answer sends no news of its task: there is nothing to wait for.
      const exitCode =
        nodes.get(task.NodeID ?? '') === 'down'
          ? null
          : await this.services.waitForStopped(service.ID, task, Math.max(timeoutSeconds, specStop(service.Spec).stopTimeoutSeconds ?? 0));
      this.services.rememberStopped(service.ID, task, exitCode, this.view.knownNode(task.NodeID));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  /** Removes the service the container belongs to; a service already gone is fine. */
  async remove(containerId: string): Promise<void> {
    try {
      const found = await this.services.find(containerId);
      if (!found) return;
      await this.services.remove(found.service.ID);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  /** Our services carrying the labels, each as its current task. */
  async listContainers(labels: Record<string, string>): Promise<ContainerInfo[]> {
    try {
      const services = await this.client.call('service_list', (abortSignal) =>
        this.client.docker.listServices({ filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }, abortSignal }),
      );
      if (services.length === 0) return [];
      const [tasks, nodes] = await Promise.all([this.services.labelledTasks(labels), this.view.nodeStates()]);
      const byService = new Map<string, SwarmTask[]>();
      for (const task of tasks) byService.set(task.ServiceID, [...(byService.get(task.ServiceID) ?? []), task]);
      const out: ContainerInfo[] = [];
      for (const service of services as unknown as SwarmService[]) {
        const task = currentTask(byService.get(service.ID) ?? []);
        // A running task is described from the listing alone, as one engine's list does: the worker
        // reads every game this way each second, and a container inspect apiece would load the manager.
        out.push(await this.view.describe(service, task, nodes, this.services.stoppedOf(service.ID), { inspectRunning: false }));
      }
      return out;
    } catch (error) {
      throw isDockerDeadline(error) ? error : daemonError(error);
    }
  }

  private healthchecked(ref: string): Promise<boolean> {
    return this.images.inspect(ref).then(
      (image) => image.healthcheck,
      () => false,
    );
  }

  /**
   * The ref pinned to the digest the manager pulled, as `docker service
   * create` pins it: every node runs the same image even if the tag moves.
   * An image known only locally (built here, never pushed) stays as given.
   */
  private async pinnedImage(ref: string): Promise<string> {
    if (ref.includes('@')) return ref;
    try {
      const image = await this.images.inspect(ref);
      const digest = pulledDigest(ref, image);
      return digest === image.id ? ref : `${ref}@${digest}`;
    } catch {
      return ref;
    }
  }
}
