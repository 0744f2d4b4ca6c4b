/**
 * The Docker backend the integration and e2e tests run against, so one test
 * file proves both: `docker` (RTM_TEST_BACKEND unset), one container per game
 * on the machine's default engine; `swarm` (the vitest project of that name),
 * one service per game on the one-node swarm `scripts/services.sh up --swarm`
 * runs on a private engine (RTM_TEST_SWARM_HOST). What differs between the two
 * — the engine's socket, the network driver, how a game's container is found
 * and reached, what cleanup removes — is said here and nowhere else. The
 * system under test opens its engine and follower as production does
 * (openRuntimeBackend, from a configuration carrying backendEnv).
 */
import Dockerode from 'dockerode';
import { expect } from 'vitest';
import type { Logger } from '../../src/domain/ports.js';
import type { DockerEngine } from '../../src/domain/engine-port.js';
import { openRuntimeBackend } from '../../src/infra/docker/backend.js';
import type { EngineEvent, EventsFollower } from '../../src/infra/docker/events-follower.js';
import { TEST_LABEL, removeContainers } from './services.js';
import { testConfig } from './test-config.js';

export type TestBackend = 'docker' | 'swarm';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** The image a probe runs: FROM scratch with a static busybox, on every test engine. */
const PROBE_IMAGE = 'galaxy-test-engine:labelled';
const PROBE_TIMEOUT_MS = 10_000;

export function testBackend(env: Record<string, string | undefined> = process.env): TestBackend {
  const value = env.RTM_TEST_BACKEND ?? 'docker';
  if (value !== 'docker' && value !== 'swarm') throw new Error(`RTM_TEST_BACKEND is docker or swarm, not ${JSON.stringify(value)}`);
  return value;
}

/** The engine's address, as RTMANAGER_DOCKER_HOST takes it. */
export function testDockerHost(backend: TestBackend = testBackend()): string {
  if (backend === 'docker') return DEFAULT_DOCKER_HOST;
  const host = process.env.RTM_TEST_SWARM_HOST;
  if (!host) {
    throw new Error(
      'RTM_TEST_BACKEND=swarm but RTM_TEST_SWARM_HOST is unset: run bash scripts/services.sh up --swarm, then load var/services.env (set -a; . var/services.env; set +a)',
    );
  }
  return host;
}

export function testDocker(backend: TestBackend = testBackend()): Dockerode {
  const host = testDockerHost(backend);
  if (!host.startsWith('unix://')) throw new Error(`the test engine is a unix socket, not ${host}`);
  return new Dockerode({ socketPath: host.slice('unix://'.length) });
}

/**
 * What a system under test (in-process or spawned) needs, beside its own
 * isolation, to run on this backend. A test's swarm has two cores: reserving
 * each game's limits would leave a few games placeable, so it reserves none.
 */
export function backendEnv(backend: TestBackend = testBackend()): Record<string, string> {
  if (backend === 'docker') return {};
  return { RTMANAGER_RUNTIME_BACKEND: 'swarm', RTMANAGER_DOCKER_HOST: testDockerHost(backend), RTMANAGER_SWARM_RESERVE_LIMITS: 'false' };
}

export interface TestNetwork {
  name: string;
  /** Removes it; a swarm network still held by a task being deleted is asked again, for a while. */
  remove(): Promise<void>;
}

/** A bridge network on one engine; on a swarm, an attachable overlay network (services and probe containers both join it). */
export async function createTestNetwork(name: string, labels: Record<string, string> = {}, docker = testDocker()): Promise<TestNetwork> {
  const Labels = { ...TEST_LABEL, ...labels };
  const swarm = testBackend() === 'swarm';
  const network = await docker.createNetwork(swarm ? { Name: name, Driver: 'overlay', Attachable: true, Labels } : { Name: name, Driver: 'bridge', Labels });
  return {
    name,
    remove: async () => {
      const deadline = Date.now() + (swarm ? 20_000 : 0);
      for (;;) {
        try {
          await network.remove();
          return;
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return;
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
  };
}

/**
 * Asserts that `containers` lists none: at once on one engine, where a
 * removal is done when the call returns; on a swarm, within 15 s, as a removed
 * (or scaled-down) service's container goes with its task, after the stop
 * grace period, while the service itself is gone at once.
 */
export async function expectNoContainers(containers: () => Promise<unknown[]>): Promise<void> {
  if (testBackend() === 'docker') expect(await containers()).toEqual([]);
  else await expect.poll(containers, { timeout: 15_000, interval: 100 }).toEqual([]);
}

/** The game's Swarm service, as listed (none on one engine, where a game is a container only). */
export async function gameServices(gameId: string, docker = testDocker()): Promise<ServiceSummary[]> {
  if (testBackend() === 'docker') return [];
  return (await listServices(docker, { name: [`galaxy-game-${gameId}`] })).filter((s) => s.Spec.Name === `galaxy-game-${gameId}`);
}

/**
 * What the worker follows to learn that an engine stopped, as the backend
 * opens it (openRuntimeBackend): Docker's event stream on one engine; on a
 * swarm, which emits no task events, our services' tasks read every `pollMs`
 * (RTMANAGER_SWARM_POLL_MS's default unless told) through `engine`.
 */
export function followGames(opts: {
  engine: DockerEngine;
  labels: Record<string, string>;
  onEvent: (event: EngineEvent) => Promise<void>;
  logger: Logger;
  pollMs?: number;
}): Promise<EventsFollower> {
  const { pollMs = 1_000, ...follow } = opts;
  return openRuntimeBackend(testConfig({ ...backendEnv(), RTMANAGER_SWARM_POLL_MS: String(pollMs) })).followEvents(follow);
}

/** The fields of a Swarm task the tests read (dockerode types tasks as any). */
interface SwarmTask {
  ID: string;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

/** The game's service's tasks, the running one first, then the newest. */
export async function gameTasks(gameId: string, docker = testDocker()): Promise<SwarmTask[]> {
  const tasks = (await docker.listTasks({ filters: { service: [`galaxy-game-${gameId}`] } })) as SwarmTask[];
  const rank = (t: SwarmTask) => (t.Status.State === 'running' ? 0 : 1);
  return tasks.sort((a, b) => rank(a) - rank(b) || Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
}

/**
 * The name Docker gives the game's container: `/galaxy-game-{id}`; on a
 * swarm, its task's, `/galaxy-game-{id}.1.{task id}` (slot 1: one replica).
 */
export function gameContainerName(gameId: string): RegExp {
  const base = `/galaxy-game-${gameId}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(testBackend() === 'swarm' ? `^${base}\\.1\\.[a-z0-9]{25}$` : `^${base}$`);
}

/**
 * The game's containers from `listed`, less Swarm's task history: one engine
 * keeps no other, so all of them; a service keeps the containers of the tasks
 * an update replaced, which must be exited, and its current task's (the
 * running one, else the newest) is the game's.
 */
export async function currentGameContainers<C extends { Id: string; State: string }>(listed: C[], gameId: string, docker = testDocker()): Promise<C[]> {
  if (testBackend() === 'docker') return listed;
  const tasks = await gameTasks(gameId, docker).catch((error: unknown) => {
    if ((error as { statusCode?: number }).statusCode === 404) return [];
    throw error;
  });
  const current = tasks[0]?.Status.ContainerStatus?.ContainerID;
  const history = listed.filter((c) => c.Id !== current);
  const live = history.filter((c) => c.State !== 'exited');
  if (live.length)
    throw new Error(`galaxy-game-${gameId}: containers of replaced tasks still ${live.map((c) => `${c.Id.slice(0, 12)} ${c.State}`).join(', ')}`);
  return listed.filter((c) => c.Id === current);
}

/**
 * The inspect of the game's engine container: `galaxy-game-{id}` on one
 * engine; on a swarm, the container of the service's running (else newest)
 * task — on a one-node swarm it is on this engine.
 */
export async function gameContainer(gameId: string, docker = testDocker()): Promise<Dockerode.ContainerInspectInfo> {
  if (testBackend() === 'docker') return docker.getContainer(`galaxy-game-${gameId}`).inspect();
  const tasks = await gameTasks(gameId, docker);
  const id = tasks[0]?.Status.ContainerStatus?.ContainerID;
  if (!id) throw new Error(`service galaxy-game-${gameId} has no task with a container: ${JSON.stringify(tasks.map((t) => t.Status))}`);
  return docker.getContainer(id).inspect();
}

/**
 * The HTTP status of `GET /` on the engine at `port`, reached at its address
 * on `networkName`: from the host on a bridge network; on an overlay network,
 * which the host cannot reach, from a short-lived probe container on it (by
 * IP: a static busybox resolves no names).
 */
export async function probeHttp(networkName: string, container: Dockerode.ContainerInspectInfo, port: number, docker = testDocker()): Promise<number> {
  const ip = container.NetworkSettings.Networks[networkName]?.IPAddress;
  if (!ip) throw new Error(`container ${container.Name} has no address on ${networkName}`);
  const url = `http://${ip}:${port}/`;
  if (testBackend() === 'docker') {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.status;
  }
  const probe = await docker.createContainer({
    Image: PROBE_IMAGE,
    Entrypoint: ['/bin/busybox'],
    // No -T: Debian's static busybox wget segfaults with it; the wait below bounds the probe instead.
    Cmd: ['wget', '-q', '-S', '-O', '/dev/null', url],
    // A TTY: the log is the probe's output as written, not docker's multiplexed frames.
    Tty: true,
    Labels: { ...TEST_LABEL },
    HostConfig: { NetworkMode: networkName },
  });
  try {
    await probe.start();
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      probe.wait() as Promise<{ StatusCode: number }>,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), PROBE_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    const output = (await probe.logs({ stdout: true, stderr: true, follow: false })).toString();
    const status = /HTTP\/\d\.\d (\d{3})/.exec(output)?.[1];
    if (!status) {
      const how = exit ? `exit ${exit.StatusCode}` : `no exit within ${PROBE_TIMEOUT_MS} ms`;
      throw new Error(`probe of ${url} got no HTTP answer (${how}): ${output.trim()}`);
    }
    return Number(status);
  } finally {
    await removeContainers(docker, [probe.id]);
  }
}

/**
 * A game runtime made behind the manager's back, as a crashed attempt or
 * another tool leaves one: a container `galaxy-game-{id}` on one engine; on a
 * swarm, a service of that name (one replica, restart condition none) with
 * `labels` on it and on its container. Resolves once it runs, with the id of
 * its container.
 */
export async function runBareGame(
  docker: Dockerode,
  game: { gameId: string; image: string; labels: Record<string, string>; network: string },
): Promise<string> {
  const name = `galaxy-game-${game.gameId}`;
  if (testBackend() === 'docker') {
    const created = await docker.createContainer({ name, Image: game.image, Labels: game.labels, HostConfig: { NetworkMode: game.network } });
    await created.start();
    return created.id;
  }
  await docker.createService({
    Name: name,
    Labels: game.labels,
    TaskTemplate: {
      ContainerSpec: { Image: game.image, Labels: game.labels },
      RestartPolicy: { Condition: 'none' },
      Networks: [{ Target: game.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [task] = await gameTasks(game.gameId, docker);
    const id = task?.Status.ContainerStatus?.ContainerID;
    if (task?.Status.State === 'running' && id) return id;
    if (Date.now() > deadline) throw new Error(`service ${name} not running in 30 s: ${JSON.stringify(task?.Status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Removes the game runtimes `filters` match (names by prefix, labels as
 * `k=v`; both given: both must match): their containers on one engine; on a
 * swarm their services, then what a service leaves (its tasks' containers,
 * kept exited after an update, or still stopping) and any container made
 * without one.
 */
export async function removeGames(docker: Dockerode, filters: { name?: string[]; label?: string[] }): Promise<void> {
  const swarm = testBackend() === 'swarm';
  if (swarm) await removeServices(docker, filters);
  // A task the manager was still starting when its service went can make its container after the first look.
  const deadline = Date.now() + (swarm ? 15_000 : 0);
  for (;;) {
    const left = await docker.listContainers({ all: true, filters });
    if (left.length === 0) return;
    await removeContainers(
      docker,
      left.map((c) => c.Id),
    );
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The fields of a listed service the tests read (dockerode types them as its Service class). */
interface ServiceSummary {
  ID: string;
  CreatedAt: string;
  Spec: { Name: string };
}

/** Swarm services matching `filters`, as listed. */
export async function listServices(docker: Dockerode, filters: { name?: string[]; label?: string[] }): Promise<ServiceSummary[]> {
  return (await docker.listServices({ filters })) as unknown as ServiceSummary[];
}

/** Removes the services matching `filters`; throws naming those the manager refused. Returns their names. */
export async function removeServices(docker: Dockerode, filters: { name?: string[]; label?: string[] }, since = 0): Promise<string[]> {
  const services = (await listServices(docker, filters)).filter((s) => Date.parse(s.CreatedAt) >= since);
  const failed: string[] = [];
  await Promise.all(
    services.map((s) =>
      docker
        .getService(s.ID)
        .remove()
        .catch((error: unknown) => {
          if ((error as { statusCode?: number }).statusCode !== 404) failed.push(`${s.Spec.Name}: ${error instanceof Error ? error.message : String(error)}`);
        }),
    ),
  );
  if (failed.length) throw new Error(`could not remove ${failed.length} service(s): ${failed.slice(0, 5).join('; ')}`);
  return services.map((s) => s.Spec.Name);
}
