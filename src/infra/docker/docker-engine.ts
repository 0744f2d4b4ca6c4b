/**
 * The DockerEngine port on dockerode. Every call is timed into
 * `rtmanager_docker_op_latency_seconds{op}`. Errors carry the daemon's own
 * message (`json.message`), which becomes the operator-facing error_message.
 */
import Dockerode from 'dockerode';
import type { PullPolicy } from '../../domain/model.js';
import { dockerTarget } from './host.js';
import type { ContainerInfo, DockerEngine, PullProgress, RunResult, RunSpec, Telemetry } from '../../domain/ports.js';

interface DockerodeError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

/** `unix:///var/run/docker.sock` or `tcp://host:port` → a client. */
export function dockerFromHost(host: string): Dockerode {
  const target = dockerTarget(host);
  return new Dockerode('socketPath' in target ? target : { ...target, protocol: 'http' });
}

export class DockerodeEngine implements DockerEngine {
  private readonly docker: Dockerode;
  private readonly telemetry: Telemetry | undefined;
  /**
   * Image inspections, kept briefly: a start asks twice (is it local? its
   * labels?) and a burst of starts asks for the same image hundreds of times,
   * each a round trip the daemon serialises with the creates. A pull forgets
   * the image; only found images are kept, so a missing one is asked again.
   */
  private readonly images = new Map<string, { at: number; info: Promise<Dockerode.ImageInspectInfo> }>();
  private readonly imageTtlMs: number;

  constructor(opts: { docker: Dockerode; telemetry?: Telemetry; imageCacheMs?: number }) {
    this.docker = opts.docker;
    this.telemetry = opts.telemetry;
    this.imageTtlMs = opts.imageCacheMs ?? 2_000;
  }

  async ping(): Promise<boolean> {
    try {
      await this.timed('ping', () => this.docker.ping());
      return true;
    } catch {
      return false;
    }
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.timed('network_inspect', () => this.docker.getNetwork(name).inspect());
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw daemonError(error);
    }
  }

  async pullImage(ref: string, policy: PullPolicy, onProgress?: (progress: PullProgress) => void): Promise<void> {
    if (policy === 'never') return;
    if (policy === 'if_not_present' && (await this.imageIsLocal(ref))) return;
    this.images.delete(ref);
    await this.timed('pull', async () => {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await this.docker.pull(ref);
      } catch (error) {
        throw daemonError(error);
      }
      // The engine reports most pull failures inside the stream, not as an
      // HTTP status: an `error` event ends the pull.
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
            const failed = events.find((e) => e.error ?? e.errorDetail);
            if (error) reject(daemonError(error));
            else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed'));
            else resolve();
          },
          (event: { status?: string; id?: string; progressDetail?: { current?: number; total?: number } }) => {
            onProgress?.({
              status: event.status ?? '',
              ...(event.id ? { id: event.id } : {}),
              ...(event.progressDetail?.current !== undefined ? { current: event.progressDetail.current } : {}),
              ...(event.progressDetail?.total !== undefined ? { total: event.progressDetail.total } : {}),
            });
          },
        );
      });
    });
  }

  async inspectImage(ref: string): Promise<{ labels: Record<string, string> }> {
    try {
      const info = await this.inspectImageCached(ref);
      return { labels: info.Config?.Labels ?? {} };
    } catch (error) {
      throw daemonError(error);
    }
  }

  async run(spec: RunSpec): Promise<RunResult> {
    let container: Dockerode.Container;
    try {
      container = await this.timed('create', () =>
        this.docker.createContainer({
          name: spec.name,
          Hostname: spec.hostname,
          Image: spec.image,
          Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          Labels: spec.labels,
          HostConfig: {
            Binds: spec.bindMounts.map((m) => `${m.hostPath}:${m.mountPath}:${m.readOnly ? 'ro' : 'rw'}`),
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
      throw daemonError(error);
    }
    try {
      await this.timed('start', () => container.start());
      const info = await this.timed('inspect', () => container.inspect());
      return { containerId: container.id, startedAt: parseDockerTime(info.State.StartedAt) ?? new Date() };
    } catch (error) {
      // Created but not started: nobody would own it. Remove it before failing.
      await this.remove(container.id).catch(() => undefined);
      throw daemonError(error);
    }
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    try {
      const info = await this.timed('inspect', () => this.docker.getContainer(nameOrId).inspect());
      return {
        id: info.Id,
        name: info.Name.replace(/^\//, ''),
        image: info.Config.Image,
        labels: info.Config.Labels ?? {},
        state: info.State.Status,
        running: info.State.Running,
        exitCode: info.State.Running ? null : info.State.ExitCode,
        oomKilled: info.State.OOMKilled,
        startedAt: parseDockerTime(info.State.StartedAt),
        finishedAt: parseDockerTime(info.State.FinishedAt),
      };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw daemonError(error);
    }
  }

  async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.timed('stop', () => this.docker.getContainer(containerId).stop({ t: timeoutSeconds }));
    } catch (error) {
      // 304: already stopped; 404: already gone. Both are what stop wants.
      if (statusOf(error) === 304 || statusOf(error) === 404) return;
      throw daemonError(error);
    }
  }

  async remove(containerId: string): Promise<void> {
    try {
      await this.timed('remove', () => this.docker.getContainer(containerId).remove({ force: true, v: true }));
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
      list = await this.timed('list', () =>
        this.docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) } }),
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
        labels: c.Labels,
        state: c.State,
        running,
        exitCode: null,
        oomKilled: false,
        startedAt: null,
        finishedAt: null,
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
    const now = Date.now();
    const hit = this.images.get(ref);
    if (hit && now - hit.at < this.imageTtlMs) return hit.info;
    // Concurrent askers share one request; a failure is not kept.
    const info = this.timed('image_inspect', () => this.docker.getImage(ref).inspect());
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

  private async timed<T>(op: string, call: () => Promise<T>): Promise<T> {
    const began = performance.now();
    try {
      return await call();
    } finally {
      this.telemetry?.recordDockerOp(op, (performance.now() - began) / 1000);
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as DockerodeError | null)?.statusCode;
}

function messageOf(error: unknown): string {
  const e = error as DockerodeError | null;
  return e?.json?.message ?? e?.message ?? String(error);
}

/** The daemon's words, not dockerode's "(HTTP code 404) no such image - …" wrapper. */
function daemonError(error: unknown): Error {
  const message = messageOf(error).trim();
  const wrapped = new Error(message);
  const status = statusOf(error);
  if (status !== undefined) (wrapped as DockerodeError).statusCode = status;
  return wrapped;
}

/** Docker's zero time (`0001-01-01T00:00:00Z`) means "never". */
function parseDockerTime(value: string | undefined): Date | null {
  if (!value || value.startsWith('0001-01-01')) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
