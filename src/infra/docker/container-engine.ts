/**
 * The DockerEngine port on one Docker engine (RTMANAGER_RUNTIME_BACKEND=docker):
 * a game's engine is a container. It speaks to the daemon through its
 * DaemonClient (deadlines), gets its images from its ImageStore, and holds
 * one of the process's run slots (run-slots.ts) for each create and start.
 * Errors carry the daemon's own message (`json.message`), which becomes the
 * operator-facing error_message.
 */
import type Dockerode from 'dockerode';
import { unlimitedProblem } from '../../domain/container-spec.js';
import type { PullPolicy } from '../../domain/model.js';
import type {
  ContainerInfo,
  DockerEngine,
  EffectiveLimits,
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
import type { DaemonClientOptions } from './daemon-client.js';
import { DaemonClient } from './daemon-client.js';
import { modemDaemonRequests } from './daemon-requests.js';
import { openContainerLogs } from './container-logs.js';
import { createError, daemonError, isMissingImage, messageOf, parseDockerTime, statusOf } from './daemon-errors.js';
import { daemonSampler, readStats } from './container-stats.js';
import { CONTAINER_ENGINE_CAPABILITIES } from './engine-capabilities.js';
import { awaitContainerHealth, healthOfState, healthOfStatusLine } from './health.js';
import type { ImageStoreOptions } from './image-store.js';
import { ImageStore } from './image-store.js';
import { RunSlots } from './run-slots.js';

/** What both engines are built from: the daemon client's options and the image store's. */
export interface EngineOptions extends DaemonClientOptions, ImageStoreOptions {}

export interface ContainerEngineOptions extends EngineOptions {
  /** Container runs of this process at the daemon at once (RTMANAGER_DOCKER_RUN_CONCURRENCY); the rest wait their turn here. */
  runConcurrency?: number;
}

export const DEFAULT_RUN_CONCURRENCY = 8;

export class ContainerEngine implements DockerEngine {
  readonly capabilities = CONTAINER_ENGINE_CAPABILITIES;
  private readonly client: DaemonClient;
  private readonly images: ImageStore;
  private readonly runSlots: RunSlots;

  constructor(opts: ContainerEngineOptions) {
    this.client = new DaemonClient(opts);
    this.images = new ImageStore(this.client, opts);
    this.runSlots = new RunSlots(opts.runConcurrency ?? DEFAULT_RUN_CONCURRENCY);
  }

  ping(): Promise<boolean> {
    return this.client.ping();
  }

  async networkExists(name: string): Promise<boolean> {
    return (await this.client.network(name)) !== null;
  }

  pullImage(ref: string, policy: PullPolicy, options?: PullOptions): Promise<PullOutcome> {
    return this.images.pull(ref, policy, options);
  }

  inspectImage(ref: string): Promise<ImageInfo> {
    return this.images.inspect(ref);
  }

  /** Create, start and read back, holding one of the process's run slots throughout. */
  run(spec: RunSpec): Promise<RunResult> {
    return this.runSlots.use(() => this.createAndStart(spec));
  }

  /** One engine has no rolling update (it declares none): a recreate is a stop and a start. */
  replace(containerId: string, spec: RunSpec): Promise<RunResult> {
    return Promise.reject(new Error(`one Docker engine cannot replace container ${containerId} by ${spec.name} in place: stop it, then start`));
  }

  private async createAndStart(spec: RunSpec): Promise<RunResult> {
    // Docker reads a zero (or too small) limit as none: such a spec never reaches it.
    const unlimited = unlimitedProblem(spec);
    if (unlimited) throw new Error(unlimited);
    const container = await this.create(spec);
    try {
      await this.client.call('start', (abortSignal) => container.start({ abortSignal }));
      const info = await this.client.call('inspect', (abortSignal) => container.inspect({ abortSignal }));
      return {
        containerId: container.id,
        startedAt: parseDockerTime(info.State.StartedAt) ?? new Date(),
        effective: effectiveLimits(info.HostConfig),
        node: null,
      };
    } catch (error) {
      // Created but not started (or not known to be): nobody would own it.
      // Remove it before failing; a re-run creates it afresh.
      await this.remove(container.id).catch(() => undefined);
      throw daemonError(error);
    }
  }

  /** The create; an image gone since the start's pull step believed it present is pulled once per policy, then created again. */
  private async create(spec: RunSpec): Promise<Dockerode.Container> {
    const create = () => this.client.call('create', (abortSignal) => this.client.docker.createContainer({ abortSignal, ...containerOptions(spec) }));
    try {
      return await create();
    } catch (error) {
      if (!isMissingImage(error) || !(await this.images.pullAfterMissing(spec.image))) throw createError(spec.name, error);
    }
    try {
      return await create();
    } catch (error) {
      throw createError(spec.name, error);
    }
  }

  awaitHealth(containerId: string, timeoutMs: number): Promise<HealthVerdict> {
    return awaitContainerHealth(this.client, containerId, timeoutMs);
  }

  async openLogs(containerId: string, query: LogQuery, signal: AbortSignal): Promise<EngineLogs | null> {
    try {
      const requests = modemDaemonRequests(this.client.docker);
      return await this.client.timed('logs', () => openContainerLogs(requests, containerId, query, signal, this.client.deadlines.callMs));
    } catch (error) {
      throw daemonError(error);
    }
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    try {
      const info = await this.client.call('inspect', (abortSignal) => this.client.docker.getContainer(nameOrId).inspect({ abortSignal }));
      return containerInfoOf(info);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw daemonError(error);
    }
  }

  /** Docker answers a stopped container's stats with zeros: it is asked only while it runs. */
  async stats(containerId: string): Promise<EngineStats | null> {
    const info = await this.inspectContainer(containerId);
    if (!info?.running) return null;
    try {
      return await readStats(daemonSampler(this.client, info.id));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw daemonError(error);
    }
  }

  async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      // The daemon itself waits up to timeoutSeconds before it kills: the deadline starts after that.
      await this.client.call(
        'stop',
        (abortSignal) => this.client.docker.getContainer(containerId).stop({ t: timeoutSeconds, abortSignal }),
        timeoutSeconds * 1000,
      );
    } catch (error) {
      // 304: already stopped; 404: already gone. Both are what stop wants.
      if (statusOf(error) === 304 || statusOf(error) === 404) return;
      throw daemonError(error);
    }
  }

  async remove(containerId: string): Promise<void> {
    try {
      await this.client.call('remove', (abortSignal) => this.client.docker.getContainer(containerId).remove({ force: true, v: true, abortSignal }));
    } catch (error) {
      const status = statusOf(error);
      // 404: gone; 409 "removal already in progress": someone else is doing it.
      if (status === 404 || (status === 409 && /already in progress/i.test(messageOf(error)))) return;
      throw daemonError(error);
    }
  }

  /**
   * The list answer has no exit code or OOM flag: those are read by inspect,
   * and only for containers that are not running (the reconciler needs them
   * for exactly those).
   */
  async listContainers(labels: Record<string, string>): Promise<ContainerInfo[]> {
    let list: Dockerode.ContainerInfo[];
    try {
      list = await this.client.call('list', (abortSignal) =>
        this.client.docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }, abortSignal }),
      );
    } catch (error) {
      throw daemonError(error);
    }
    const out: ContainerInfo[] = [];
    for (const c of list) {
      if (c.State === 'running') {
        out.push(listedInfoOf(c));
        continue;
      }
      const detailed = await this.inspectContainer(c.Id);
      if (detailed) out.push(detailed);
    }
    return out;
  }
}

/** The create request for `spec`, hardened as RunSpec says always. */
function containerOptions(spec: RunSpec): Dockerode.ContainerCreateOptions {
  return {
    name: spec.name,
    Hostname: spec.hostname,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    ...(spec.user === null ? {} : { User: spec.user }),
    // Contract §15: the engine's own way to stop, whoever stops it (API 1.41's stop takes no signal).
    StopSignal: spec.stopSignal,
    StopTimeout: spec.stopTimeoutSeconds,
    HostConfig: {
      // Typed, not a `src:dst:mode` string that a `:` in the host path would split wrongly.
      Mounts: spec.bindMounts.map((m) => ({ Type: 'bind' as const, Source: m.hostPath, Target: m.mountPath, ReadOnly: m.readOnly })),
      Tmpfs: Object.fromEntries(spec.scratchMounts.map((m) => [m.mountPath, `rw,nosuid,nodev,size=${m.sizeBytes}`])),
      ReadonlyRootfs: spec.readOnlyRootfs,
      CapDrop: spec.capDrop,
      CapAdd: spec.capAdd,
      SecurityOpt: ['no-new-privileges'],
      // Equal to Memory: no swap on top of the limit, so the limit is what the engine really gets.
      MemorySwap: spec.memoryBytes,
      // An init as PID 1 reaps the engine's zombies and forwards the stop signal to it.
      Init: true,
      NetworkMode: spec.network,
      LogConfig: { Type: spec.logDriver, Config: spec.logOpts },
      NanoCpus: spec.nanoCpus,
      Memory: spec.memoryBytes,
      PidsLimit: spec.pidsLimit,
    },
    NetworkingConfig: { EndpointsConfig: { [spec.network]: {} } },
  };
}

function containerInfoOf(info: Dockerode.ContainerInspectInfo): ContainerInfo {
  // dockerode's types leave these out; the daemon sends them when the container was created with them.
  const config = info.Config as Dockerode.ContainerInspectInfo['Config'] & { StopSignal?: string; StopTimeout?: number | null };
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    imageId: info.Image,
    labels: info.Config.Labels ?? {},
    state: info.State.Status,
    running: info.State.Running,
    exitCode: info.State.Running ? null : info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    startedAt: parseDockerTime(info.State.StartedAt),
    finishedAt: parseDockerTime(info.State.FinishedAt),
    effective: effectiveLimits(info.HostConfig),
    // One engine: no node to name, and it answered.
    node: null,
    unreachable: false,
    health: healthOfState(info.State),
    stopSignal: config.StopSignal || null,
    stopTimeoutSeconds: config.StopTimeout ?? null,
  };
}

/** A running container as listed: what a listing does not carry (exit, OOM, limits) is not asked. */
function listedInfoOf(c: Dockerode.ContainerInfo): ContainerInfo {
  return {
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    image: c.Image,
    imageId: c.ImageID,
    labels: c.Labels,
    state: c.State,
    running: c.State === 'running',
    exitCode: null,
    oomKilled: false,
    startedAt: null,
    finishedAt: null,
    effective: null,
    node: null,
    unreachable: false,
    health: healthOfStatusLine(c.Status),
    stopSignal: null,
    stopTimeoutSeconds: null,
  };
}

/** What the daemon applied, from an inspect's HostConfig (0: no limit). */
export function effectiveLimits(host: Dockerode.HostConfig): EffectiveLimits {
  return { cpuQuota: (host.NanoCpus ?? 0) / 1e9, memoryBytes: host.Memory ?? 0, pidsLimit: host.PidsLimit ?? 0 };
}
