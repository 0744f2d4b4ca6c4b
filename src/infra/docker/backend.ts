/**
 * The one place the runtime backend (RTMANAGER_RUNTIME_BACKEND) is chosen:
 * `docker`, one container per game on one engine (container-engine.ts,
 * followed through its event stream, events-follower.ts); `swarm`, one
 * service per game on a cluster through a manager (swarm-engine.ts, its
 * tasks read every RTMANAGER_SWARM_POLL_MS, swarm-follower.ts). The
 * composition root, the worker and the tests all open it here.
 *
 * dockerode is imported when a role first drives Docker, not here: its
 * import tree costs a process about 30 MB, and the web role only pings
 * (lazy-engine.ts).
 */
import type { Logger, Telemetry } from '../../domain/ports.js';
import type { DockerEngine, EngineCapabilities } from '../../domain/engine-port.js';
import type { PullPolicy } from '../../domain/model.js';
import { CONTAINER_ENGINE_CAPABILITIES, SWARM_ENGINE_CAPABILITIES } from './engine-capabilities.js';
import type { EngineEvent, EventsFollower } from './events-follower.js';
import type { DockerTls } from './host.js';
import { readDockerTls } from './host.js';
import { openContainerLogs } from './container-logs.js';
import type { LazyEngineOptions } from './lazy-engine.js';
import { LazyDockerEngine } from './lazy-engine.js';
import { openTaskLogs } from './task-logs.js';

/** What the backend is opened from: the configuration's own fields (config.ts). */
export interface RuntimeBackendConfig {
  backend: 'docker' | 'swarm';
  docker: {
    host: string;
    tls: { verify: boolean; certPath: string } | null;
    configPath: string;
    timeoutMs: number;
    pullTimeoutMs: number;
    pullInactivityMs: number;
    runConcurrency: number;
    pullPolicy: PullPolicy;
  };
  swarm: { placementTimeoutMs: number; reserveLimits: boolean; pollMs: number };
}

/** What the worker hands the follower: whose deaths to hear, and what to do then. */
export interface GameEventsOptions {
  labels: Record<string, string>;
  onEvent: (event: EngineEvent) => Promise<void>;
  /** After a broken stream (or unreadable tasks) comes back: events were missed, so a full reconcile. */
  onReconnect?: () => Promise<void>;
  logger: Logger;
  /** What a swarm's follower reads the tasks through: this backend's engine, unless a test watches those reads through its own. */
  engine?: Pick<DockerEngine, 'listContainers'>;
}

export interface RuntimeBackend {
  readonly kind: RuntimeBackendConfig['backend'];
  /** The DockerEngine port; its engine is loaded on its first call that is not a ping. */
  readonly engine: DockerEngine;
  /** What the engine declares it can do (`engine.capabilities`). */
  readonly capabilities: EngineCapabilities;
  /** Follows the games' engines, handing on each that stopped (a die event, or a task no longer running) or whose health changed. */
  followEvents(opts: GameEventsOptions): Promise<EventsFollower>;
}

/** Reads the Docker TLS material now: a missing certificate stops boot rather than the first start. */
export function openRuntimeBackend(config: RuntimeBackendConfig, opts: { telemetry?: Telemetry } = {}): RuntimeBackend {
  const tls = readDockerTls(config.docker.tls);
  const capabilities = config.backend === 'swarm' ? SWARM_ENGINE_CAPABILITIES : CONTAINER_ENGINE_CAPABILITIES;
  const { telemetry } = opts;
  const logs = logReader(config);
  const engine = new LazyDockerEngine({ load: () => loadEngine(config, tls, telemetry), capabilities, host: config.docker.host, tls, telemetry, logs });
  return {
    kind: config.backend,
    engine,
    capabilities,
    followEvents: (follow) => followEvents(config, tls, engine, follow),
  };
}

async function loadEngine(config: RuntimeBackendConfig, tls: DockerTls | null, telemetry: Telemetry | undefined): Promise<DockerEngine> {
  const { dockerFromHost } = await import('./daemon-client.js');
  const { docker } = config;
  const options = {
    docker: dockerFromHost(docker.host, tls),
    ...(telemetry ? { telemetry } : {}),
    deadlines: { callMs: docker.timeoutMs, pullMs: docker.pullTimeoutMs, pullIdleMs: docker.pullInactivityMs },
    dockerConfigPath: docker.configPath,
    pullPolicy: docker.pullPolicy,
  };
  if (config.backend === 'docker') {
    const { ContainerEngine } = await import('./container-engine.js');
    return new ContainerEngine({ ...options, runConcurrency: docker.runConcurrency });
  }
  const { SwarmEngine } = await import('./swarm-engine.js');
  const { placementTimeoutMs, reserveLimits } = config.swarm;
  return new SwarmEngine({ ...options, placementTimeoutMs, reserveLimits, logPollMs: config.swarm.pollMs });
}

/** The backend's log reader, on whatever requests the lazy engine makes: a container's on one engine, a task's on a swarm. */
function logReader(config: RuntimeBackendConfig): LazyEngineOptions['logs'] {
  const deadlineMs = config.docker.timeoutMs;
  if (config.backend === 'docker') return (requests, id, query, signal) => openContainerLogs(requests, id, query, signal, deadlineMs);
  return (requests, id, query, signal) => openTaskLogs(requests, id, query, signal, { deadlineMs, pollMs: config.swarm.pollMs });
}

/** One engine: its event stream (die, oom, health_status). A swarm emits no task events: our services' tasks are read every pollMs. */
async function followEvents(config: RuntimeBackendConfig, tls: DockerTls | null, engine: DockerEngine, opts: GameEventsOptions): Promise<EventsFollower> {
  const { engine: reader = engine, ...follow } = opts;
  if (config.backend === 'docker') {
    const [{ followEngineEvents }, { dockerFromHost }] = await Promise.all([import('./events-follower.js'), import('./daemon-client.js')]);
    return followEngineEvents({ docker: dockerFromHost(config.docker.host, tls), ...follow });
  }
  const { followSwarmTasks } = await import('./swarm-follower.js');
  return followSwarmTasks({ engine: reader, pollMs: config.swarm.pollMs, ...follow });
}
