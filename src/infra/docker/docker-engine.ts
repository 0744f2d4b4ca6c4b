/**
 * The DockerEngine port on dockerode. Every call is timed into
 * `rtmanager_docker_op_latency_seconds{op}` and has a deadline. Errors carry
 * the daemon's own message (`json.message`), which becomes the
 * operator-facing error_message.
 *
 * Why deadlines, and why they abort: docker-modem settles a request only on
 * the response's `end` or the request's `error`. A response cut off after its
 * headers (the socket closed mid-body) emits neither on Node 20 — only
 * `aborted` and `close`, which it does not listen to — so the promise never
 * settles, and with no socket timeout a silent daemon holds it forever. One
 * such call wedges a worker slot for good. So every call races its deadline
 * and, where dockerode takes an AbortSignal, the deadline also destroys the
 * request's socket; a call past it throws DockerDeadlineExceeded.
 */
import type { Agent } from 'node:https';
import Dockerode from 'dockerode';
import { unlimitedProblem } from '../../domain/container-spec.js';
import { DockerDeadlineExceeded } from '../../domain/errors.js';
import { pullFailure, registryUnreachable } from '../../domain/image-pull.js';
import { createError, daemonError, parseDockerTime, statusOf, messageOf } from './daemon-errors.js';
import { pullFailureOf, pullWithDeadlines } from './pull.js';
import { PullTally } from './pull-progress.js';
import { RunSlots } from './run-slots.js';
import { DockerConfigCredentials } from './registry-auth.js';
import type { PullPolicy } from '../../domain/model.js';
import type { DockerTls } from './host.js';
import { dockerTarget, dockerTlsAgent } from './host.js';
import type {
  ContainerInfo,
  DockerEngine,
  EffectiveLimits,
  ImageInfo,
  PullOptions,
  PullOutcome,
  PullProgress,
  RunResult,
  RunSpec,
  Telemetry,
} from '../../domain/ports.js';

/** `unix:///var/run/docker.sock` or `tcp://host:port` (with its TLS, if any) → a client. */
export function dockerFromHost(host: string, tls: DockerTls | null = null): Dockerode {
  const target = dockerTarget(host, tls);
  if ('socketPath' in target) return new Dockerode(target);
  if (!target.tls) return new Dockerode({ host: target.host, port: target.port, protocol: 'http' });
  // docker-modem takes an `agent` (its types do not say so): the one way to tell it whether to verify the daemon.
  const options: Dockerode.DockerOptions & { agent: Agent } = { host: target.host, port: target.port, protocol: 'https', agent: dockerTlsAgent(target.tls) };
  return new Dockerode(options);
}

/** Contract §10: RTMANAGER_DOCKER_TIMEOUT_MS, RTMANAGER_PULL_TIMEOUT_MS, RTMANAGER_PULL_INACTIVITY_MS. */
export interface DockerDeadlines {
  /** Every call but a pull. */
  callMs: number;
  /** A whole pull. */
  pullMs: number;
  /** A pull that reports nothing for this long is abandoned. */
  pullIdleMs: number;
}

export const DEFAULT_DOCKER_DEADLINES: DockerDeadlines = { callMs: 30_000, pullMs: 900_000, pullIdleMs: 120_000 };

export interface DockerodeEngineOptions {
  docker: Dockerode;
  telemetry?: Telemetry;
  imageCacheMs?: number;
  deadlines?: Partial<DockerDeadlines>;
  now?: () => number;
  /** A Docker CLI config.json whose `auths` give registry credentials (RTMANAGER_DOCKER_CONFIG); none: anonymous pulls. */
  dockerConfigPath?: string;
  /** Container runs of this process at the daemon at once (RTMANAGER_DOCKER_RUN_CONCURRENCY); the rest wait their turn here. */
  runConcurrency?: number;
}

export const DEFAULT_RUN_CONCURRENCY = 8;

/** One pull under way, shared by every caller that asked for its ref meanwhile. */
interface SharedPull {
  done: Promise<void>;
  listeners: Set<(progress: PullProgress) => void>;
  latest: PullProgress | null;
}

export class DockerodeEngine implements DockerEngine {
  protected readonly docker: Dockerode;
  private readonly telemetry: Telemetry | undefined;
  protected readonly deadlines: DockerDeadlines;
  private readonly now: () => number;
  /**
   * Image inspections, kept briefly: a start asks twice (is it local? its
   * labels?) and a burst of starts asks for the same image hundreds of times,
   * each a round trip the daemon serialises with the creates. A pull forgets
   * the image; only found images are kept, so a missing one is asked again.
   */
  private readonly images = new Map<string, { at: number; info: Promise<Dockerode.ImageInspectInfo> }>();
  private readonly imageTtlMs: number;
  /**
   * Pulls under way by ref: a burst of starts of one image that is not local
   * downloads it once. A pull leaves the map the moment it settles, so the
   * next caller starts a new one (a failure is not remembered).
   */
  private readonly pulls = new Map<string, SharedPull>();
  protected readonly credentials: DockerConfigCredentials | undefined;
  private readonly runSlots: RunSlots;

  constructor(opts: DockerodeEngineOptions) {
    this.docker = opts.docker;
    this.telemetry = opts.telemetry;
    this.imageTtlMs = opts.imageCacheMs ?? 2_000;
    this.deadlines = { ...DEFAULT_DOCKER_DEADLINES, ...opts.deadlines };
    this.now = opts.now ?? Date.now;
    this.credentials = opts.dockerConfigPath ? new DockerConfigCredentials(opts.dockerConfigPath) : undefined;
    this.runSlots = new RunSlots(opts.runConcurrency ?? DEFAULT_RUN_CONCURRENCY);
  }

  async ping(): Promise<boolean> {
    try {
      await this.call('ping', (abortSignal) => this.get('/_ping', {}, abortSignal));
      return true;
    } catch {
      return false;
    }
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.call('network_inspect', (abortSignal) => this.get(`/networks/${encodeURIComponent(name)}`, { 404: 'no such network' }, abortSignal));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw daemonError(error);
    }
  }

  async pullImage(ref: string, policy: PullPolicy, options: PullOptions = {}): Promise<PullOutcome> {
    if (policy !== 'always' && (await this.imageIsLocal(ref))) return { kind: 'present' };
    if (policy === 'never') throw pullFailure('policy', ref);
    try {
      await this.sharedPull(ref, options.onProgress);
      return { kind: 'pulled' };
    } catch (error) {
      const failed = pullFailureOf(error, ref);
      // The pull's failure is the news: a daemon that cannot say whether the image is local does not replace it.
      if (policy === 'always' && options.fallbackToLocal && registryUnreachable(failed.reason) && (await this.imageIsLocal(ref).catch(() => false))) {
        return { kind: 'local_fallback', reason: failed.message };
      }
      throw failed;
    }
  }

  /** Joins the pull of `ref` under way, or starts one; each caller hears the shared progress. */
  private async sharedPull(ref: string, onProgress?: (progress: PullProgress) => void): Promise<void> {
    let pull = this.pulls.get(ref);
    if (!pull) {
      const started: SharedPull = { done: Promise.resolve(), listeners: new Set(), latest: null };
      started.done = this.runPull(ref, started);
      this.pulls.set(ref, started);
      pull = started;
    }
    if (onProgress) {
      pull.listeners.add(onProgress);
      if (pull.latest) onProgress(pull.latest);
    }
    try {
      await pull.done;
    } finally {
      if (onProgress) pull.listeners.delete(onProgress);
    }
  }

  private async runPull(ref: string, pull: SharedPull): Promise<void> {
    const tally = new PullTally();
    this.images.delete(ref);
    try {
      await this.timed('pull', async () => {
        const auth = await this.credentials?.forImage(ref).catch((error: unknown) => {
          throw pullFailure('other', ref, messageOf(error));
        });
        await pullWithDeadlines(this.docker, ref, this.deadlines, {
          auth,
          onEvent: (event) => {
            if (!tally.add(event)) return;
            pull.latest = tally.snapshot();
            for (const listener of pull.listeners) {
              try {
                listener(pull.latest);
              } catch {
                // A listener is someone watching; it cannot fail the pull for the others.
              }
            }
          },
        });
      });
    } finally {
      // Before the waiters hear the outcome: whoever asks after it starts afresh.
      if (this.pulls.get(ref) === pull) this.pulls.delete(ref);
      this.images.delete(ref);
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo> {
    try {
      const info = await this.inspectImageCached(ref);
      return { id: info.Id, repoDigests: info.RepoDigests ?? [], labels: info.Config?.Labels ?? {} };
    } catch (error) {
      throw daemonError(error);
    }
  }

  /** Create, start and read back, holding one of the process's run slots (run-slots.ts) throughout. */
  run(spec: RunSpec): Promise<RunResult> {
    return this.runSlots.use(() => this.createAndStart(spec));
  }

  private async createAndStart(spec: RunSpec): Promise<RunResult> {
    // Docker reads a zero (or too small) limit as none: such a spec never reaches it.
    const unlimited = unlimitedProblem(spec);
    if (unlimited) throw new Error(unlimited);
    let container: Dockerode.Container;
    try {
      container = await this.call('create', (abortSignal) =>
        this.docker.createContainer({
          abortSignal,
          name: spec.name,
          Hostname: spec.hostname,
          Image: spec.image,
          Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          Labels: spec.labels,
          ...(spec.user === null ? {} : { User: spec.user }),
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
        }),
      );
    } catch (error) {
      throw createError(spec.name, error);
    }
    try {
      await this.call('start', (abortSignal) => container.start({ abortSignal }));
      const info = await this.call('inspect', (abortSignal) => container.inspect({ abortSignal }));
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

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    try {
      const info = await this.call('inspect', (abortSignal) => this.docker.getContainer(nameOrId).inspect({ abortSignal }));
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
      };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw daemonError(error);
    }
  }

  async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      // The daemon itself waits up to timeoutSeconds before it kills: the deadline starts after that.
      await this.call('stop', (abortSignal) => this.docker.getContainer(containerId).stop({ t: timeoutSeconds, abortSignal }), timeoutSeconds * 1000);
    } catch (error) {
      // 304: already stopped; 404: already gone. Both are what stop wants.
      if (statusOf(error) === 304 || statusOf(error) === 404) return;
      throw daemonError(error);
    }
  }

  async remove(containerId: string): Promise<void> {
    try {
      await this.call('remove', (abortSignal) => this.docker.getContainer(containerId).remove({ force: true, v: true, abortSignal }));
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
      list = await this.call('list', (abortSignal) =>
        this.docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }, abortSignal }),
      );
    } catch (error) {
      throw daemonError(error);
    }
    const out: ContainerInfo[] = [];
    for (const c of list) {
      const running = c.State === 'running';
      const base: ContainerInfo = {
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        image: c.Image,
        imageId: c.ImageID,
        labels: c.Labels,
        state: c.State,
        running,
        exitCode: null,
        oomKilled: false,
        startedAt: null,
        finishedAt: null,
        effective: null,
        node: null,
        unreachable: false,
      };
      if (running) {
        out.push(base);
        continue;
      }
      const detailed = await this.inspectContainer(c.Id);
      if (detailed) out.push(detailed);
    }
    return out;
  }

  private inspectImageCached(ref: string): Promise<Dockerode.ImageInspectInfo> {
    const now = this.now();
    const hit = this.images.get(ref);
    if (hit && now - hit.at < this.imageTtlMs) return hit.info;
    // Concurrent askers share one request; a failure is not kept.
    const info = this.call('image_inspect', (abortSignal) =>
      this.get<Dockerode.ImageInspectInfo>(`/images/${ref}/json`, { 404: 'no such image' }, abortSignal),
    );
    this.images.set(ref, { at: now, info });
    info.catch(() => {
      if (this.images.get(ref)?.info === info) this.images.delete(ref);
    });
    if (this.images.size > 256) this.images.delete(this.images.keys().next().value!);
    return info;
  }

  private async imageIsLocal(ref: string): Promise<boolean> {
    try {
      await this.inspectImageCached(ref);
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw daemonError(error);
    }
  }

  /**
   * One Docker call under its deadline: the call gets an AbortSignal that
   * fires at the deadline (destroying its socket), and the caller gets
   * DockerDeadlineExceeded then even if the client never settles the call.
   * `graceMs` extends the deadline by time the daemon is asked to spend.
   */
  protected call<T>(op: string, fn: (signal: AbortSignal) => Promise<T>, graceMs = 0): Promise<T> {
    const ms = this.deadlines.callMs + graceMs;
    return this.timed(op, async () => {
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new DockerDeadlineExceeded(op, ms);
          controller.abort(error);
          reject(error);
        }, ms);
      });
      // The timer goes however `fn` ends, a synchronous throw included: a deadline left armed
      // would reject later with no one listening (an unhandled rejection, seen on a swarm
      // whose service spec was refused before it was sent).
      try {
        return await Promise.race([fn(controller.signal), deadline]);
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /**
   * A GET dockerode offers without an AbortSignal (image and network
   * inspection), dialled the way dockerode does it, but abortable.
   */
  protected get<T>(path: string, statusCodes: Record<number, string>, abortSignal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.docker.modem.dial(
        { path, method: 'GET', options: {}, abortSignal, statusCodes: { 200: true, 500: 'server error', ...statusCodes } },
        (error, data) => (error ? reject(error) : resolve(data as T)),
      );
    });
  }

  private async timed<T>(op: string, call: () => Promise<T>): Promise<T> {
    const began = performance.now();
    try {
      return await call();
    } finally {
      this.telemetry?.recordDockerOp(op, (performance.now() - began) / 1000);
    }
  }
}

/** What the daemon applied, from an inspect's HostConfig (0: no limit). */
export function effectiveLimits(host: Dockerode.HostConfig): EffectiveLimits {
  return { cpuQuota: (host.NanoCpus ?? 0) / 1e9, memoryBytes: host.Memory ?? 0, pidsLimit: host.PidsLimit ?? 0 };
}
