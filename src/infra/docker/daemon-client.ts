/**
 * dockerode behind deadlines: the one way the engines (container-engine.ts,
 * swarm-engine.ts) and the image store (image-store.ts) speak to the daemon.
 * Every call is timed into `rtmanager_docker_op_latency_seconds{op}` and has
 * a deadline.
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
import { DockerDeadlineExceeded } from '../../domain/errors.js';
import type { Telemetry } from '../../domain/ports.js';
import { daemonError, statusOf } from './daemon-errors.js';
import type { DockerTls } from './host.js';
import { dockerTarget, dockerTlsAgent } from './host.js';

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

export interface DaemonClientOptions {
  docker: Dockerode;
  telemetry?: Telemetry;
  deadlines?: Partial<DockerDeadlines>;
}

export class DaemonClient {
  /** For building a call's request; send it through `call`, which bounds it. */
  readonly docker: Dockerode;
  readonly deadlines: DockerDeadlines;
  private readonly telemetry: Telemetry | undefined;

  constructor(opts: DaemonClientOptions) {
    this.docker = opts.docker;
    this.telemetry = opts.telemetry;
    this.deadlines = { ...DEFAULT_DOCKER_DEADLINES, ...opts.deadlines };
  }

  /** True when the daemon answers; throws nothing. */
  async ping(): Promise<boolean> {
    try {
      await this.call('ping', (abortSignal) => this.get('/_ping', {}, abortSignal));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * One Docker call under its deadline: the call gets an AbortSignal that
   * fires at the deadline (destroying its socket), and the caller gets
   * DockerDeadlineExceeded then even if the client never settles the call.
   * `graceMs` extends the deadline by time the daemon is asked to spend.
   */
  call<T>(op: string, fn: (signal: AbortSignal) => Promise<T>, graceMs = 0): Promise<T> {
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
   * A GET dockerode offers without an AbortSignal (image, network, service
   * and node inspection), dialled the way dockerode does it, but abortable.
   */
  get<T>(path: string, statusCodes: Record<number, string>, abortSignal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.docker.modem.dial(
        { path, method: 'GET', options: {}, abortSignal, statusCodes: { 200: true, 500: 'server error', ...statusCodes } },
        (error, data) => (error ? reject(error) : resolve(data as T)),
      );
    });
  }

  /** The network as inspected; null when there is none. Throws the daemon's words. */
  async network(name: string): Promise<{ Scope?: string } | null> {
    try {
      return await this.inspect<{ Scope?: string }>('network_inspect', `/networks/${encodeURIComponent(name)}`, 'no such network');
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw daemonError(error);
    }
  }

  /** `call`'s GET: one inspection under its deadline. */
  inspect<T>(op: string, path: string, missing: string): Promise<T> {
    return this.call(op, (abortSignal) => this.get<T>(path, { 404: missing }, abortSignal));
  }

  /** Timed only: a pull has deadlines of its own (pull.ts). */
  async timed<T>(op: string, call: () => Promise<T>): Promise<T> {
    const began = performance.now();
    try {
      return await call();
    } finally {
      this.telemetry?.recordDockerOp(op, (performance.now() - began) / 1000);
    }
  }
}
