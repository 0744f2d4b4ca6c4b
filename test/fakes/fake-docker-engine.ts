import { createHash } from 'node:crypto';
import { unlimitedProblem } from '../../src/domain/container-spec.js';
import { ContainerNameTaken } from '../../src/domain/errors.js';
import { isImagePullFailed, pullFailure, registryUnreachable } from '../../src/domain/image-pull.js';
import { registryOfRef } from '../../src/domain/image-ref.js';
import type { PullPolicy, RuntimeHealth } from '../../src/domain/model.js';
import type { Clock } from '../../src/domain/ports.js';
import type {
  ContainerInfo,
  DockerEngine,
  EngineCapabilities,
  EngineStats,
  EngineLogs,
  HealthVerdict,
  ImageInfo,
  LogQuery,
  LogStreamName,
  PullOptions,
  PullOutcome,
  PullProgress,
  RunResult,
  RunSpec,
  RuntimeNode,
} from '../../src/domain/engine-port.js';
import { FakeEngineOutput } from './fake-engine-output.js';

/** What a fake engine's program (FakeDockerEngine.programs) may do. */
export interface FakeEngineIo {
  write(stream: LogStreamName, data: string | Uint8Array): void;
  /** Exits with `code`, if it still runs. */
  exit(code: number): void;
  running(): boolean;
}

/** Linux's numbers of the signals a stop may send (stop-policy.ts), as an exit code tells them: 128 + n. */
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15, SIGWINCH: 28, SIGPWR: 30 };
/** Signals whose default action is to be ignored: an engine with no handler for them lives on until the kill. */
const DEFAULT_IGNORED = new Set(['SIGWINCH']);

interface FakeContainer {
  info: ContainerInfo;
  spec: RunSpec | null;
}

/** A stable `sha256:…` per name: an image's id, or the digest a registry serves it by. */
export function fakeDigest(name: string): string {
  return `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

/** `host/repo:tag@digest` → `host/repo`, as a RepoDigests entry names the repository. */
function repositoryOf(ref: string): string {
  return ref.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
}

/**
 * A Docker engine in memory. `images` are local images (ref → labels), each
 * with the id `fakeDigest(ref)` and, when pulled, the RepoDigests entry
 * `repo@fakeDigest('registry:' + ref)`; `registry` is what a pull can fetch
 * — empty by default, as if every registry answered "not found"; a registry
 * host in `unreachableRegistries` does not answer at all. A pull takes one
 * macrotask, and pulls of one ref under way at once are one download
 * (`downloads` counts them), as in the adapter.
 */
export class FakeDockerEngine implements DockerEngine {
  readonly images = new Map<string, Record<string, string>>();
  /** A local image's STOPSIGNAL, by ref (none: the image sets none). */
  readonly imageStopSignals = new Map<string, string>();
  /**
   * How an image's engine ends when stopped, by ref: the code it exits with
   * on its stop signal (0: it traps it and winds down), or `ignores` (it is
   * killed at the timeout: 137). Unless given, it dies of the signal, as a
   * real engine with no handler does behind the init: 128 + the signal's number.
   */
  readonly stopBehaviour = new Map<string, number | 'ignores'>();
  readonly repoDigests = new Map<string, string[]>();
  readonly registry = new Map<string, Record<string, string>>();
  readonly unreachableRegistries = new Set<string>();
  /** Downloads started (a shared pull counts once). */
  downloads = 0;
  private readonly pulls = new Map<string, { done: Promise<void>; listeners: Set<(p: PullProgress) => void> }>();
  readonly networks = new Set<string>();
  /** Where the containers it runs are placed: null as on one engine; a node as on a cluster. */
  node: RuntimeNode | null = null;
  readonly containers = new Map<string, FakeContainer>();
  /** Every call by method name, in order: lets a test assert "no Docker call". */
  readonly calls: string[] = [];
  /** [container id, timeout] of each stop of a running container: a test asserts the container's own was passed. */
  readonly stopTimeouts: Array<[string, number]> = [];
  daemonDown = false;
  failRun: Error | null = null;
  failPull: Error | null = null;
  failInspectImage: Error | null = null;
  failStop: Error | null = null;
  failRemove: Error | null = null;
  failInspectContainer: Error | null = null;
  failStats: Error | null = null;
  /** What the stats of an image's engines say (by image ref), beyond an idle engine's. */
  readonly usage = new Map<string, Partial<Omit<EngineStats, 'readAt'>>>();
  /**
   * Images with a HEALTHCHECK (ref → its probe of a container run as `spec`:
   * `starting` while it gives no verdict). A container of one starts
   * `starting`; its first probe is `healthProbeMs` after awaitHealth asks.
   */
  readonly healthchecks = new Map<string, (spec: RunSpec) => RuntimeHealth>();
  healthProbeMs = 0;
  /** What the containers wrote (`writeOutput`), read through openLogs. */
  readonly output = new FakeEngineOutput();
  /**
   * What an image's engine does once it runs, by ref: as a real engine writes
   * its output and may exit by itself, through `engine` (the container's id,
   * writes stamped by the clock, an exit).
   */
  readonly programs = new Map<string, (engine: FakeEngineIo, spec: RunSpec) => void>();
  /** Who waits for a container's health to change (awaitHealth). */
  private readonly healthWaiters = new Map<string, Set<() => void>>();
  private nextId = 1;

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  private enter(method: string): void {
    this.calls.push(method);
    if (this.daemonDown) throw new Error('connect ENOENT /var/run/docker.sock');
  }

  ping(): Promise<boolean> {
    this.calls.push('ping');
    return Promise.resolve(!this.daemonDown);
  }

  networkExists(name: string): Promise<boolean> {
    return this.call('networkExists', () => this.networks.has(name));
  }

  async pullImage(ref: string, policy: PullPolicy, options: PullOptions = {}): Promise<PullOutcome> {
    await this.call('pullImage', () => {
      if (this.failPull) throw this.failPull;
    });
    if (policy !== 'always' && this.images.has(ref)) return { kind: 'present' };
    if (policy === 'never') throw pullFailure('policy', ref);
    try {
      await this.sharedDownload(ref, options.onProgress);
      return { kind: 'pulled' };
    } catch (error) {
      if (isImagePullFailed(error) && policy === 'always' && options.fallbackToLocal && registryUnreachable(error.reason) && this.images.has(ref)) {
        return { kind: 'local_fallback', reason: error.message };
      }
      throw error;
    }
  }

  private async sharedDownload(ref: string, onProgress?: (p: PullProgress) => void): Promise<void> {
    let pull = this.pulls.get(ref);
    if (!pull) {
      const listeners = new Set<(p: PullProgress) => void>();
      const tell = (p: PullProgress) => listeners.forEach((l) => l(p));
      const done = (async () => {
        this.downloads += 1;
        try {
          await new Promise((r) => setTimeout(r, 0));
          if (this.unreachableRegistries.has(registryOfRef(ref))) {
            throw pullFailure('unreachable', ref, `dial tcp ${registryOfRef(ref)}: connect: connection refused`);
          }
          const remote = this.registry.get(ref);
          if (!remote) throw pullFailure('not_found', ref, `manifest for ${ref} not found: manifest unknown`);
          tell({ layersDone: 0, layersTotal: 1, bytesDone: 0, bytesTotal: 1 });
          tell({ layersDone: 1, layersTotal: 1, bytesDone: 1, bytesTotal: 1 });
          this.images.set(ref, { ...remote });
          this.repoDigests.set(ref, [`${repositoryOf(ref)}@${fakeDigest(`registry:${ref}`)}`]);
        } finally {
          this.pulls.delete(ref);
        }
      })();
      pull = { done, listeners };
      this.pulls.set(ref, pull);
    }
    if (onProgress) pull.listeners.add(onProgress);
    await pull.done;
  }

  /** By ref, or by the id `fakeDigest(ref)`. */
  inspectImage(refOrId: string): Promise<ImageInfo> {
    return this.call('inspectImage', () => {
      if (this.failInspectImage) throw this.failInspectImage;
      const ref = [...this.images.keys()].find((r) => r === refOrId || fakeDigest(r) === refOrId);
      if (ref === undefined) throw new Error(`No such image: ${refOrId}`);
      return {
        id: fakeDigest(ref),
        repoDigests: [...(this.repoDigests.get(ref) ?? [])],
        labels: { ...this.images.get(ref) },
        healthcheck: this.healthchecks.has(ref),
        stopSignal: this.imageStopSignals.get(ref) ?? null,
      };
    });
  }

  run(spec: RunSpec): Promise<RunResult> {
    return this.call('run', () => {
      if (this.failRun) throw this.failRun;
      const unlimited = unlimitedProblem(spec);
      if (unlimited) throw new Error(unlimited);
      if (this.findByNameOrId(spec.name)) {
        throw new ContainerNameTaken(spec.name, `Conflict. The container name "/${spec.name}" is already in use`);
      }
      if (!this.images.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
      if (!this.networks.has(spec.network)) throw new Error(`network ${spec.network} not found`);
      const id = `fake${String(this.nextId++).padStart(60, '0')}`;
      const startedAt = this.clock.now();
      const effective = { cpuQuota: spec.nanoCpus / 1e9, memoryBytes: spec.memoryBytes, pidsLimit: spec.pidsLimit };
      this.containers.set(id, {
        spec: structuredClone(spec),
        info: {
          id,
          name: spec.name,
          image: spec.image,
          imageId: fakeDigest(spec.image),
          labels: { ...spec.labels },
          state: 'running',
          running: true,
          exitCode: null,
          oomKilled: false,
          startedAt,
          finishedAt: null,
          effective,
          node: this.node,
          unreachable: false,
          health: this.healthchecks.has(spec.image) ? 'starting' : 'none',
          stopSignal: spec.stopSignal,
          stopTimeoutSeconds: spec.stopTimeoutSeconds,
        },
      });
      this.programs.get(spec.image)?.(this.engineIo(id), structuredClone(spec));
      return { containerId: id, startedAt, effective: { ...effective }, node: this.node };
    });
  }

  private engineIo(containerId: string): FakeEngineIo {
    return {
      write: (stream, data) => this.writeOutput(containerId, stream, data),
      exit: (code) => {
        if (this.containers.get(containerId)?.info.running) this.markExited(containerId, code, false);
      },
      running: () => this.containers.get(containerId)?.info.running === true,
    };
  }

  openLogs(containerId: string, query: LogQuery, signal: AbortSignal): Promise<EngineLogs | null> {
    return this.call('openLogs', () => {
      const found = this.findByNameOrId(containerId);
      if (!found) return null;
      const id = found.info.id;
      return this.output.open(id, query, signal, () => {
        const info = this.containers.get(id)?.info;
        return { running: info?.running === true, exitCode: info?.exitCode ?? null };
      });
    });
  }

  /** What the container writes on `stream` now (stamped by the clock): a real engine's output. */
  writeOutput(containerId: string, stream: LogStreamName, data: string | Uint8Array): void {
    this.output.write(containerId, stream, data, this.clock.now());
  }

  /** As one engine's by default; `canReplace()` declares a cluster's rolling update. */
  capabilities: EngineCapabilities = { replaceInPlace: false };

  /** Declares the cluster's `replace`, which one engine cannot do. */
  canReplace(): void {
    this.capabilities = { replaceInPlace: true };
  }

  /**
   * As a cluster's rolling update: the running container `containerId` gives way to one as `spec`
   * says, under the same name; when the new one cannot run (its image is not local, a `failRun`),
   * the previous comes back as it was and the call throws. Refused, touching nothing, unless declared.
   */
  async replace(containerId: string, spec: RunSpec): Promise<RunResult> {
    if (!this.capabilities.replaceInPlace)
      throw new Error(`one Docker engine cannot replace container ${containerId} by ${spec.name} in place: stop it, then start`);
    const previous = this.containers.get(containerId);
    if (!previous?.info.running) throw new Error(`no running container ${containerId} to replace`);
    if (previous.info.name !== spec.name) throw new Error(`container ${containerId} is not ${spec.name}`);
    this.enter('replace');
    this.containers.delete(containerId);
    try {
      return await this.run(spec);
    } catch (error) {
      this.containers.set(containerId, previous);
      throw error instanceof Error ? new Error(`update failed, rolled back: ${error.message}`) : error;
    }
  }

  /** The first probe `healthProbeMs` after the ask; then until `setHealth`, an exit or a removal says more, or the time is up. */
  async awaitHealth(containerId: string, timeoutMs: number): Promise<HealthVerdict> {
    await this.call('awaitHealth', () => undefined);
    const deadline = Date.now() + timeoutMs;
    const probe = this.findByNameOrId(containerId);
    if (probe?.info.health === 'starting' && probe.spec) {
      const probed = this.healthProbeMs <= timeoutMs;
      await this.healthChange(probe.info.id, probed ? this.healthProbeMs : timeoutMs);
      const current = this.containers.get(probe.info.id);
      if (probed && current?.info.health === 'starting') current.info.health = this.healthchecks.get(current.info.image)?.(probe.spec) ?? 'none';
    }
    for (;;) {
      const found = this.findByNameOrId(containerId);
      if (!found?.info.running) return 'gone';
      if (found.info.health !== 'starting') return found.info.health;
      if (Date.now() >= deadline) return 'timeout';
      await this.healthChange(found.info.id, deadline - Date.now());
    }
  }

  private healthChange(containerId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.healthWaiters.get(containerId) ?? new Set<() => void>();
      this.healthWaiters.set(containerId, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  private healthChanged(containerId: string): void {
    for (const wake of [...(this.healthWaiters.get(containerId) ?? [])]) wake();
  }

  inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    return this.call('inspectContainer', () => {
      if (this.failInspectContainer) throw this.failInspectContainer;
      const found = this.findByNameOrId(nameOrId);
      return found ? structuredClone(found.info) : null;
    });
  }

  /**
   * A running container's reading: what `usage` says of its image, else an idle
   * engine (its init and itself, 1 MiB in use), its limit the one it was run
   * with (the machine's, 8 GiB, when none), read now.
   */
  stats(containerId: string): Promise<EngineStats | null> {
    return this.call('stats', () => {
      if (this.failStats) throw this.failStats;
      const found = this.findByNameOrId(containerId);
      if (!found?.info.running) return null;
      const limit = found.info.effective?.memoryBytes || 8 * 1024 ** 3;
      const idle = { cpuPercent: 0, memoryBytes: 1024 * 1024, memoryLimitBytes: limit, pids: 2, netRxBytes: 0, netTxBytes: 0 };
      return { ...idle, ...this.usage.get(found.info.image), readAt: this.clock.now() };
    });
  }

  stop(containerId: string, timeoutSeconds: number): Promise<void> {
    return this.call('stop', () => {
      if (this.failStop) throw this.failStop;
      const found = this.findByNameOrId(containerId);
      if (!found || !found.info.running) return;
      this.stopTimeouts.push([found.info.id, timeoutSeconds]);
      this.markExited(found.info.id, this.exitOnStop(found.info), false);
    });
  }

  private exitOnStop(info: ContainerInfo): number {
    const behaviour = this.stopBehaviour.get(info.image);
    if (behaviour === 'ignores') return 137;
    if (behaviour !== undefined) return behaviour;
    const signal = info.stopSignal ?? 'SIGTERM';
    // No handler: the signal kills the engine, unless its default is to be ignored (then the kill at the timeout does).
    return DEFAULT_IGNORED.has(signal) ? 137 : 128 + (SIGNAL_NUMBERS[signal] ?? 15);
  }

  remove(containerId: string): Promise<void> {
    return this.call('remove', () => {
      if (this.failRemove) throw this.failRemove;
      const found = this.findByNameOrId(containerId);
      if (found) this.containers.delete(found.info.id);
      if (found) this.healthChanged(found.info.id);
      // A running container removed by force is killed: its follows end as the daemon's do.
      if (found) this.output.stopped(found.info.id, found.info.running ? 137 : found.info.exitCode);
    });
  }

  listContainers(labels: Record<string, string>): Promise<ContainerInfo[]> {
    return this.call('listContainers', () =>
      [...this.containers.values()]
        .filter((c) => Object.entries(labels).every(([k, v]) => c.info.labels[k] === v))
        // As the daemon's listing: the limits of a running container are not in it.
        .map((c) => structuredClone({ ...c.info, effective: c.info.running ? null : c.info.effective })),
    );
  }

  // Test helpers: what the engine would do on its own.

  /** A container that exited (or was OOM-killed) behind our back. */
  markExited(containerId: string, exitCode: number, oomKilled: boolean): void {
    const found = this.containers.get(containerId);
    if (!found) throw new Error(`no fake container ${containerId}`);
    found.info = { ...found.info, state: 'exited', running: false, exitCode, oomKilled, finishedAt: this.clock.now() };
    this.healthChanged(containerId);
    this.output.stopped(containerId, exitCode);
  }

  /** What the container's HEALTHCHECK says now (Docker's health_status). */
  setHealth(containerId: string, health: RuntimeHealth): void {
    const found = this.containers.get(containerId);
    if (!found) throw new Error(`no fake container ${containerId}`);
    found.info = { ...found.info, health };
    this.healthChanged(containerId);
  }

  /** A cluster node that stopped answering, with the container on it: its last known state is all anyone can say. */
  markUnreachable(containerId: string): void {
    const found = this.containers.get(containerId);
    if (!found) throw new Error(`no fake container ${containerId}`);
    found.info = { ...found.info, running: false, unreachable: true };
  }

  /** A container someone else created (no spec): foreign or left by a crash. Unless given, it runs `info.image` with no limits. */
  addContainer(
    info: Omit<ContainerInfo, 'id' | 'imageId' | 'effective' | 'node' | 'unreachable' | 'health' | 'stopSignal' | 'stopTimeoutSeconds'> &
      Partial<Pick<ContainerInfo, 'id' | 'imageId' | 'effective' | 'node' | 'unreachable' | 'health' | 'stopSignal' | 'stopTimeoutSeconds'>>,
  ): string {
    const id = info.id ?? `fake${String(this.nextId++).padStart(60, '0')}`;
    const defaults = {
      imageId: fakeDigest(info.image),
      effective: { cpuQuota: 0, memoryBytes: 0, pidsLimit: 0 },
      node: this.node,
      unreachable: false,
      health: 'none' as const,
      stopSignal: null,
      stopTimeoutSeconds: null,
    };
    this.containers.set(id, { spec: null, info: { ...defaults, ...info, id } });
    return id;
  }

  specOf(containerId: string): RunSpec | null {
    return this.containers.get(containerId)?.spec ?? null;
  }

  private findByNameOrId(nameOrId: string): FakeContainer | undefined {
    return this.containers.get(nameOrId) ?? [...this.containers.values()].find((c) => c.info.name === nameOrId);
  }

  private call<T>(method: string, body: () => T): Promise<T> {
    try {
      this.enter(method);
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
