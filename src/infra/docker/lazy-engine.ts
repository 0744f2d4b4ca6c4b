/**
 * The DockerEngine port, loading dockerode only when a role first drives
 * Docker. dockerode's import tree (gRPC, protobuf, ssh2) costs a process
 * about 30 MB of resident memory; the web role mostly asks "does the
 * daemon answer?" for /readyz, which a GET /_ping on the socket answers, and
 * loads it only when an operator first reads an engine's stats.
 */
import http from 'node:http';
import https from 'node:https';
import type { PullPolicy } from '../../domain/model.js';
import type { Telemetry } from '../../domain/ports.js';
import type {
  ContainerInfo,
  DockerEngine,
  EngineCapabilities,
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
import type { DaemonRequests } from './daemon-requests.js';
import { bareDaemonRequests } from './daemon-requests.js';
import type { DockerTls } from './host.js';
import { dockerTarget, dockerTlsAgent } from './host.js';

export interface LazyEngineOptions {
  /** Imports and builds the engine (backend.ts says which); called once, on first use. */
  load: () => Promise<DockerEngine>;
  /** What that engine declares: known before it is loaded, so the domain can read it at once. */
  capabilities: EngineCapabilities;
  host: string;
  tls: DockerTls | null;
  telemetry?: Telemetry;
  pingTimeoutMs?: number;
  /** The backend's log reader (container-logs.ts, task-logs.ts), over bare socket requests: reading logs loads no dockerode either. */
  logs: (requests: DaemonRequests, containerId: string, query: LogQuery, signal: AbortSignal) => Promise<EngineLogs | null>;
}

export class LazyDockerEngine implements DockerEngine {
  readonly capabilities: EngineCapabilities;
  private engine: Promise<DockerEngine> | undefined;
  private requests: DaemonRequests | undefined;

  constructor(private readonly opts: LazyEngineOptions) {
    this.capabilities = opts.capabilities;
  }

  /** The dockerode adapter; loaded once, on first use. */
  private load(): Promise<DockerEngine> {
    this.engine ??= this.opts.load();
    return this.engine;
  }

  async ping(): Promise<boolean> {
    const began = performance.now();
    try {
      return await pingDaemon(this.opts.host, this.opts.pingTimeoutMs ?? 2_000, this.opts.tls);
    } finally {
      this.opts.telemetry?.recordDockerOp('ping', (performance.now() - began) / 1000);
    }
  }

  async openLogs(containerId: string, query: LogQuery, signal: AbortSignal): Promise<EngineLogs | null> {
    this.requests ??= bareDaemonRequests(this.opts.host, this.opts.tls);
    const began = performance.now();
    try {
      return await this.opts.logs(this.requests, containerId, query, signal);
    } finally {
      this.opts.telemetry?.recordDockerOp('logs', (performance.now() - began) / 1000);
    }
  }

  async networkExists(name: string): Promise<boolean> {
    return (await this.load()).networkExists(name);
  }

  async pullImage(ref: string, policy: PullPolicy, options?: PullOptions): Promise<PullOutcome> {
    return (await this.load()).pullImage(ref, policy, options);
  }

  async inspectImage(ref: string): Promise<ImageInfo> {
    return (await this.load()).inspectImage(ref);
  }

  async run(spec: RunSpec): Promise<RunResult> {
    return (await this.load()).run(spec);
  }

  async replace(containerId: string, spec: RunSpec): Promise<RunResult> {
    return (await this.load()).replace(containerId, spec);
  }

  async awaitHealth(containerId: string, timeoutMs: number): Promise<HealthVerdict> {
    return (await this.load()).awaitHealth(containerId, timeoutMs);
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | null> {
    return (await this.load()).inspectContainer(nameOrId);
  }

  async stats(containerId: string): Promise<EngineStats | null> {
    return (await this.load()).stats(containerId);
  }

  async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    return (await this.load()).stop(containerId, timeoutSeconds);
  }

  async remove(containerId: string): Promise<void> {
    return (await this.load()).remove(containerId);
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerInfo[]> {
    return (await this.load()).listContainers(labels);
  }
}

/** GET /_ping on `unix://path` or `tcp://host:port` (over TLS when given): true on "OK", false on anything else, never throws. */
export function pingDaemon(host: string, timeoutMs: number, tls: DockerTls | null = null): Promise<boolean> {
  const target = dockerTarget(host, tls);
  const where = 'socketPath' in target ? target : { host: target.host, port: target.port };
  const get =
    'tls' in target && target.tls
      ? (options: https.RequestOptions, done: (res: http.IncomingMessage) => void) => https.get({ ...options, agent: dockerTlsAgent(target.tls!) }, done)
      : http.get;
  return new Promise((resolve) => {
    const req = get({ ...where, path: '/_ping', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}
