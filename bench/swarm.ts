/**
 * The bench on a Docker Swarm (issue 13): the system with
 * RTMANAGER_RUNTIME_BACKEND=swarm against raw service creates through the
 * same manager (RTM_TEST_SWARM_HOST), side by side in one run.
 *
 * The raw baseline does the adapter's work without the manager: the service
 * spec of serviceSpec in swarm-service-spec.ts (limits and reservations, hardening, tmpfs,
 * the bind mount of a state directory of its own, labels, log driver,
 * overlay network, restart none, one replica, update and rollback
 * config, DNS round robin endpoint), then listTasks every 50 ms
 * (the adapter's task poll) until the task runs. A warm-up start of each
 * side comes first, and checks that the two services have the same shape:
 * a baseline that does less than the system is no baseline.
 *
 * Limits: a one-node swarm places by reservations, and the system reserves
 * what it limits; at the labelled image's 0.5 CPU a 2-core node takes 4
 * games, so the bench runs an image without limit labels under small
 * defaults (0.05 CPU, 32 MB), the same on both sides.
 *
 * Every round leaves nothing behind (services removed, containers gone,
 * bounded: Swarm takes about 6 s to remove a service's container here), so
 * each round meets the same manager; a burst meets an empty node.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { Redis } from 'ioredis';
import { dockerFromHost } from '../src/infra/docker/daemon-client.js';
import type { FaultSystem } from '../test/faults/support.js';
import { faultSystem } from '../test/faults/support.js';
import { TEST_LABEL } from '../test/support/services.js';
import { median, pairedRatio, systemStart, timedStart, waitRunning } from './measure.js';

const IMAGE = 'galaxy-test-engine:plain';
const LIMITS = { NanoCPUs: 50_000_000, MemoryBytes: 32 * 1024 * 1024, Pids: 64 };
/** The system's defaults for the image above: the limits the raw side asks for. */
const SYSTEM_LIMITS_ENV = {
  RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA: '0.05',
  RTMANAGER_CONTAINER_DEFAULT_MEMORY: '32m',
  RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT: '64',
};
/** SwarmEngine's taskPollMs. */
const TASK_POLL_MS = 50;
/** How often the system's worker reads our services' tasks (RTMANAGER_SWARM_POLL_MS, its default). */
const SWARM_POLL_MS = 1000;
const STATE_MOUNT = '/var/lib/galaxy/engine';
const TASK_DEADLINE_MS = 60_000;
const GONE_DEADLINE_MS = 60_000;
const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

interface Task {
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; Err?: string; Message?: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SwarmBench {
  /** `swarm_start_latency_ratio`: the median of paired system start ÷ raw start, alternately, one game at a time. */
  latency(games: number): Promise<number>;
  /** `swarm_burst_throughput_ratio`: the median of paired raw burst time ÷ system burst time, `games` at once, alternately. */
  burst(games: number, rounds: number): Promise<number>;
  cleanup(): Promise<void>;
  /** The system's environment: its settings are printed beside the figures. */
  env: NodeJS.ProcessEnv;
}

export async function swarmBench(host: string): Promise<SwarmBench> {
  const engine = dockerFromHost(host);
  const info = (await engine.info()) as { Swarm?: { ControlAvailable?: boolean } };
  if (!info.Swarm?.ControlAvailable) throw new Error(`RTM_TEST_SWARM_HOST=${host} is not a swarm manager`);
  const bench = `b${randomUUID().slice(0, 6)}`;
  const networkName = `rtm-bench-${bench}`;
  await engine.createNetwork({ Name: networkName, Driver: 'overlay', Attachable: true, Labels: { ...TEST_LABEL, 'com.galaxy.bench_run': bench } });
  const rawRoot = path.join(tmpdir(), `rtm-bench-swarm-raw-${bench}`);
  const rawLabel = `com.galaxy.bench_run=${bench}`;
  let system: FaultSystem | null = null;
  let watcher: Redis | null = null;

  const cleanup = async () => {
    watcher?.disconnect();
    if (system) await system.kill('all', 'SIGKILL');
    await removeServices(engine, rawLabel).catch((e: unknown) => console.error(`swarm bench cleanup: ${String(e)}`));
    if (system) await removeServices(engine, `com.galaxy.test_run=${system.run}`).catch((e: unknown) => console.error(`swarm bench cleanup: ${String(e)}`));
    await removeNetwork(engine, networkName);
    await system?.cleanup();
    await rm(rawRoot, { recursive: true, force: true });
  };

  try {
    // An operator's defaults, but the limits the raw side asks for (the swarm's one node is small).
    system = await faultSystem({
      defaults: true,
      env: {
        RTMANAGER_RUNTIME_BACKEND: 'swarm',
        RTMANAGER_DOCKER_HOST: host,
        RTMANAGER_DOCKER_NETWORK: networkName,
        RTMANAGER_SWARM_POLL_MS: String(SWARM_POLL_MS),
        ...SYSTEM_LIMITS_ENV,
      },
    });
    system.start('all');
    await system.waitReady();
    watcher = system.redis.duplicate();
  } catch (error) {
    await cleanup();
    throw error;
  }
  const s = system;
  const w = watcher;

  /** What the adapter asks of Swarm for a game, for a raw service of the bench's. */
  const rawSpec = async (name: string, i: number): Promise<Dockerode.CreateServiceOptions> => {
    const state = path.join(rawRoot, name);
    await mkdir(state, { recursive: true, mode: 0o750 });
    // As many labels as a game's (the run's two and the engine's five), none the system would take for its own.
    const labels = {
      ...TEST_LABEL,
      'com.galaxy.bench_run': bench,
      'com.galaxy.bench': 'raw',
      'com.galaxy.bench_kind': 'swarm',
      'com.galaxy.bench_game': name,
      'com.galaxy.bench_image': IMAGE,
      'com.galaxy.bench_started_at_ms': String(Date.now() + i),
    };
    const spec = {
      Name: name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE,
          Hostname: name,
          Env: [`GALAXY_ENGINE_STATE_DIR=${STATE_MOUNT}`, `STORAGE_PATH=${STATE_MOUNT}`],
          Labels: labels,
          Mounts: [
            { Type: 'bind', Source: state, Target: STATE_MOUNT, ReadOnly: false },
            { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024 } },
          ],
          ReadOnly: true,
          CapabilityDrop: ['ALL'],
          CapabilityAdd: [],
          Init: true,
          StopSignal: 'SIGTERM',
          StopGracePeriod: 10e9,
        },
        Resources: { Limits: LIMITS, Reservations: { NanoCPUs: LIMITS.NanoCPUs, MemoryBytes: LIMITS.MemoryBytes } },
        RestartPolicy: { Condition: 'none' },
        LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
        Networks: [{ Target: networkName }],
      },
      Mode: { Replicated: { Replicas: 1 } },
      UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback', Monitor: 1e9 },
      RollbackConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
      EndpointSpec: { Mode: 'dnsrr' },
    };
    return spec as unknown as Dockerode.CreateServiceOptions;
  };

  /** Service create → its task running, polled as the adapter polls it. The state directory is made inside the time, as the system makes a game's. */
  const rawStart = async (name: string, i: number): Promise<number> => {
    const t = performance.now();
    const service = await engine.createService(await rawSpec(name, i));
    const deadline = Date.now() + TASK_DEADLINE_MS;
    for (;;) {
      const tasks = (await engine.listTasks({ filters: { service: [service.id] } })) as Task[];
      const task = currentTask(tasks);
      const state = task?.Status.State ?? 'new';
      if (state === 'running') return performance.now() - t;
      if (TERMINAL.has(state)) throw new Error(`raw ${name}: task ${state}: ${task?.Status.Err ?? task?.Status.Message ?? ''}`);
      if (Date.now() > deadline) throw new Error(`raw ${name}: task ${state} after ${TASK_DEADLINE_MS} ms`);
      await sleep(TASK_POLL_MS);
    }
  };
  const removeRaw = () => removeServices(engine, rawLabel);

  /**
   * The system's games removed as the raw ones are (their services, until
   * their containers are gone), then until the system has heard of it: its
   * task poll hands a vanished service to the reconciler, which marks the
   * record removed, and that work is over before the next round is timed.
   * Not stopped through the API: the system's stop scales the service to
   * zero and removes it the moment its task ends, while Swarm's task reaper
   * deletes that task, and Docker 20.10.24's manager dies of the race (a nil
   * task in swarmkit's SetServiceTasksRemove, orchestrator/service.go:78).
   * Its task poll compares two reads, and an engine that ran and vanished
   * between them is never reported: the poll must have read them running
   * first, so the removal waits a poll period after `startedAt`.
   */
  const removeGames = async (gameIds: string[], startedAt: number) => {
    await sleep(startedAt + SWARM_POLL_MS + 300 - performance.now());
    await removeServices(engine, `com.galaxy.test_run=${s.run}`);
    const deadline = Date.now() + GONE_DEADLINE_MS;
    for (;;) {
      const records = await Promise.all(gameIds.map((g) => s.records.get(g)));
      const running = gameIds.filter((_, i) => records[i]?.status === 'running');
      if (running.length === 0) return;
      if (Date.now() > deadline) throw new Error(`the system still has ${running.join(', ')} running ${GONE_DEADLINE_MS} ms after their services were removed`);
      await sleep(100);
    }
  };

  /**
   * Once, before the first part: a start of each side, not counted (the
   * first loads dockerode in the worker and asks the node's name), and the
   * two services compared but for names, label values and the state
   * directory.
   */
  let warm = false;
  const warmUp = async () => {
    if (warm) return;
    const rawName = `bench-swraw-${bench}-warm`;
    const gameId = s.gameId('swwarm');
    await rawStart(rawName, 0);
    await timedStart(s, w, gameId, IMAGE);
    const startedAt = performance.now();
    const raw = (await engine.getService(rawName).inspect()) as { Spec: unknown };
    const ours = (await engine.getService(`galaxy-game-${gameId}`).inspect()) as { Spec: unknown };
    const [a, b] = [shape(raw.Spec), shape(ours.Spec)];
    if (a !== b) throw new Error(`the raw baseline's service is not the system's:\nraw:    ${a}\nsystem: ${b}`);
    await Promise.all([removeRaw(), removeGames([gameId], startedAt)]);
    warm = true;
  };

  return {
    env: s.env,
    async latency(games) {
      const began = Date.now();
      await warmUp();
      const raw: number[] = [];
      const sys: number[] = [];
      for (let i = 0; i < games; i++) {
        const runRaw = async () => {
          raw.push(await rawStart(`bench-swraw-${bench}-${i}`, i));
        };
        let startedAt = 0;
        const runSystem = async () => {
          sys.push(await timedStart(s, w, s.gameId(`swlat${i}`), IMAGE));
          startedAt = performance.now();
        };
        // Alternately, each side first every other round (the second meets the first's engine running).
        if (i % 2 === 0) {
          await runRaw();
          await runSystem();
        } else {
          await runSystem();
          await runRaw();
        }
        // Both at once: a removal takes Swarm seconds, and the round is over.
        await Promise.all([removeRaw(), removeGames([s.gameId(`swlat${i}`)], startedAt)]);
      }
      // The median of the paired ratios, as every other part of the bench; the ratio of the medians beside it.
      const p = pairedRatio(sys, raw);
      console.log(
        `swarm latency (${games} games, one-node swarm): raw median ${median(raw).toFixed(0)} ms [${spread(raw)}], system median ${median(sys).toFixed(0)} ms [${spread(sys)}], paired system − raw median ${signed(median(sys.map((x, i) => x - raw[i]!)))} ms; median of paired ratios ${p.ratio}, ratio of medians ${p.ratioOfMedians}; ${took(began)}`,
      );
      return p.ratio;
    },

    async burst(games, rounds) {
      const began = Date.now();
      await warmUp();
      const raw: number[] = [];
      const sys: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const runRaw = async () => {
          const t = performance.now();
          await Promise.all(Array.from({ length: games }, (_, i) => rawStart(`bench-swburst-${bench}-${round}-${i}`, i)));
          raw.push(performance.now() - t);
          await removeRaw();
        };
        const runSystem = async () => {
          const ids = Array.from({ length: games }, (_, i) => s.gameId(`swburst${round}x${i}`));
          const t = performance.now();
          const answers = await Promise.all(ids.map((g) => systemStart(s, g, IMAGE)));
          if (answers.some((status) => status !== 202)) throw new Error(`start answered ${answers.join(',')}`);
          await waitRunning(s, ids, 120_000);
          sys.push(performance.now() - t);
          await removeGames(ids, performance.now());
        };
        if (round % 2 === 0) {
          await runRaw();
          await runSystem();
        } else {
          await runSystem();
          await runRaw();
        }
      }
      const p = pairedRatio(raw, sys);
      console.log(
        `swarm burst (${games} at once, ${rounds} rounds): raw ${raw.map((x) => x.toFixed(0)).join('/')} ms, system ${sys.map((x) => x.toFixed(0)).join('/')} ms; median of paired ratios (raw ÷ system) ${p.ratio}, ratio of medians ${p.ratioOfMedians}; ${took(began)}`,
      );
      return p.ratio;
    },

    cleanup,
  };
}

/** As the adapter reads a service's task: the newest meant to run, else the newest. */
function currentTask(tasks: Task[]): Task | null {
  const newest = [...tasks].sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
  return newest.find((t) => t.DesiredState === 'running') ?? newest[0] ?? null;
}

/**
 * Removes the services with this label (running ones: no task of theirs is
 * being reaped), `concurrency` at a time [all at once], then waits (bounded)
 * until their containers are gone.
 */
export async function removeServices(engine: Dockerode, label: string, opts: { concurrency?: number; goneMs?: number } = {}): Promise<void> {
  const services = await engine.listServices({ filters: { label: [label] } });
  const goneMs = opts.goneMs ?? GONE_DEADLINE_MS;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency ?? services.length, services.length) }, async () => {
      while (next < services.length) {
        await engine
          .getService(services[next++]!.ID)
          .remove()
          .catch((error: { statusCode?: number }) => {
            if (error.statusCode !== 404) throw error;
          });
      }
    }),
  );
  const deadline = Date.now() + goneMs;
  for (;;) {
    const left = await engine.listContainers({ all: true, filters: { label: [label] } });
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${left.length} container(s) labelled ${label} still there ${goneMs} ms after their services were removed`);
    await sleep(100);
  }
}

/** A network is released a moment after its last task or container: retried, bounded. */
export async function removeNetwork(engine: Dockerode, name: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await engine.getNetwork(name).remove();
      return;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      await sleep(500);
    }
  }
  console.error(`swarm bench cleanup: network ${name} could not be removed`);
}

/** A service spec with what differs between two games (names, label values, the state directory) blanked, keys sorted. */
function shape(spec: unknown): string {
  const s = structuredClone(spec) as {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Hostname?: string; Labels?: Record<string, string>; Mounts?: Array<{ Type: string; Source?: string }> } };
  };
  const blank = (labels: Record<string, string> | undefined) => Object.fromEntries(Object.keys(labels ?? {}).map((_, i) => [`label${i}`, '']));
  s.Name = '';
  s.Labels = blank(s.Labels);
  const c = s.TaskTemplate.ContainerSpec;
  c.Hostname = '';
  c.Labels = blank(c.Labels);
  c.Mounts = (c.Mounts ?? []).map((m) => (m.Type === 'bind' ? { ...m, Source: '' } : m));
  return JSON.stringify(sortKeys(s));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}

/** p10–p90 of the samples, for the noise a median hides. */
function spread(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `p10 ${at(0.1).toFixed(0)}, p90 ${at(0.9).toFixed(0)}`;
}

const took = (began: number) => `took ${Math.round((Date.now() - began) / 1000)} s`;

const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(0)}`;
