/**
 * Issue 13, "many nodes on one machine": three dockerd, each in a network
 * namespace of its own, joined into one swarm by scripts/swarm-nodes.sh.
 *
 * Phase A drives Swarm itself through dockerode on the manager's socket: game
 * services spread over the nodes, an engine is reached by its service name
 * from a container on another node, and a worker's dockerd killed is seen by
 * the manager (node down) within a bounded time while the other nodes' games
 * are untouched.
 *
 * Phase B drives the real pipeline on the same kind of swarm: the domain's
 * deps as test/support/real-world.ts builds them, but with SwarmEngine on the
 * manager's socket as the Docker port and the overlay as the network. Games
 * started with startRuntime spread over the nodes and answer at their
 * record's endpoint from another node; a worker powered off (its dockerd,
 * containerd, shims and containers SIGKILLed) makes reconcileAll mark exactly
 * its games removed with container_disappeared, within a bounded time, and
 * leaves every other game's record, task and container as they were.
 *
 * Run alone: npx vitest run --project cluster (or test/cluster/multinode.test.ts
 * with --testTimeout 300000). Needs root (namespaces), the test images in the
 * default engine (the script builds them when missing), ~10 s of setup.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleSettings } from '../../src/composition/settings.js';
import type { LifecycleDeps } from '../../src/domain/lifecycle.js';
import type { RuntimeRecord } from '../../src/domain/model.js';
import type { ReconcileSummary } from '../../src/domain/reconcile.js';
import { reconcileAll } from '../../src/domain/reconcile.js';
import { startRuntime } from '../../src/domain/start.js';
import { PostgresHealthSnapshots } from '../../src/infra/db/postgres-health-snapshots.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import { PostgresRuntimeRecordStore } from '../../src/infra/db/postgres-runtime-record-store.js';
import { SwarmEngine } from '../../src/infra/docker/swarm-engine.js';
import { FsStateDirectories } from '../../src/infra/fs/state-directories.js';
import { RedisGameLeases } from '../../src/infra/redis/game-leases.js';
import { RedisHealthEvents } from '../../src/infra/redis/health-events.js';
import { RedisNotifications } from '../../src/infra/redis/notifications.js';
import { CRASH_POLICY_OFF, RecordingLogger, RecordingTelemetry } from '../fakes/support.js';
import type { TestDatabase } from '../support/db.js';
import { createTestDatabase } from '../support/db.js';
import { testRedisUrl } from '../support/services.js';
import { testConfig } from '../support/test-config.js';
import type { Cluster, SwarmNode, TaskView } from './multinode-support.js';
import { createEngineService, IMAGE, nodeState, openCluster, probeByName, secondsSince, swarmNodes, tasksOf, until } from './multinode-support.js';

const run = Math.random().toString(36).slice(2, 8);
const GAMES = 5;

describe('many nodes on one machine: Swarm itself', () => {
  let cluster: Cluster;
  const names = Array.from({ length: GAMES }, (_, i) => `galaxy-game-mn${run}-${i + 1}`);
  /** service name → its running task, once all run. */
  const placed = new Map<string, TaskView>();
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    const t = Date.now();
    // A fresh swarm: `up` alone would keep a healthy one a crashed run left, services and all.
    await swarmNodes(['down'], 60_000);
    console.log(await swarmNodes(['up', '3'], 120_000));
    cluster = await openCluster();
    timings.swarmUp = secondsSince(t);
  }, 150_000);

  afterAll(async () => {
    console.log(`multinode timings (s): ${JSON.stringify(timings)}`);
    // down finds every node by its cgroup and namespace, whatever state the test left.
    console.log(await swarmNodes(['down'], 120_000));
  }, 150_000);

  const nodeOf = (id: string): SwarmNode => {
    const node = cluster.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  };

  it('has three Ready nodes, one manager', async () => {
    const nodes = (await cluster.manager.listNodes()) as Array<{ Status: { State: string }; ManagerStatus?: { Leader?: boolean } }>;
    expect(nodes.map((n) => n.Status.State)).toEqual(['ready', 'ready', 'ready']);
    expect(nodes.filter((n) => n.ManagerStatus?.Leader)).toHaveLength(1);
    expect(new Set(cluster.nodes.map((n) => n.hostname))).toEqual(new Set(['rtm-node-1', 'rtm-node-2', 'rtm-node-3']));
  });

  it('spreads game services over the nodes', async () => {
    const t = Date.now();
    for (const [i, name] of names.entries()) await createEngineService(cluster, name, `mn${run}-${i + 1}`, { 'com.galaxy.test': 'multinode' });
    for (const name of names) {
      const task = await until(`${name} running`, 60_000, async () => (await tasksOf(cluster.manager, name)).find((x) => x.state === 'running'));
      placed.set(name, task);
    }
    timings.spread = secondsSince(t);
    const perNode = new Map<string, string[]>();
    for (const [name, task] of placed) perNode.set(nodeOf(task.nodeId).hostname, [...(perNode.get(nodeOf(task.nodeId).hostname) ?? []), name]);
    console.log(`placement: ${JSON.stringify(Object.fromEntries([...perNode].map(([h, n]) => [h, n.length])))}`);
    expect(perNode.size).toBeGreaterThanOrEqual(2);
    // Each task's container is on the node Swarm says, with our labels.
    for (const [name, task] of placed) {
      const info = await nodeOf(task.nodeId).docker.getContainer(task.containerId).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels['com.galaxy.owner']).toBe('rtmanager');
      expect(info.Config.Labels['com.swarm.service.name'] ?? info.Config.Labels['com.docker.swarm.service.name']).toBe(name);
    }
  }, 120_000);

  it('reaches an engine by its service name from a container on another node', async () => {
    const t = Date.now();
    const [name, task] = [...placed][0]!;
    const home = nodeOf(task.nodeId);
    const other = cluster.nodes.find((n) => n.id !== home.id)!;
    const probe = await probeByName(other, cluster.overlay, name);
    timings.crossNodeProbe = secondsSince(t);
    console.log(`${name} on ${home.hostname}, probed from ${other.hostname}: resolved to ${probe.address}`);
    const engine = await home.docker.getContainer(task.containerId).inspect();
    const engineAddress = Object.values(engine.NetworkSettings.Networks as Record<string, { IPAddress: string }>).map((n) => n.IPAddress);
    expect(engineAddress).toContain(probe.address);
    expect(probe.body).toContain('galaxy test engine');
    expect(probe.body.replace(/\r\n/g, '\n').trim()).toBe(readFileSync('test/images/engine/index.html', 'utf8').trim()); // Tty: CRLF
  }, 60_000);

  it("a worker's dockerd SIGKILLed: the manager marks its node down in bounded time, its tasks lose their desired state, the others are untouched", async () => {
    // The worker with the most games (never the manager: it is the one we ask).
    const byNode = new Map<string, string[]>();
    for (const [name, task] of placed) byNode.set(task.nodeId, [...(byNode.get(task.nodeId) ?? []), name]);
    const victim = cluster.nodes
      .slice(1)
      .filter((n) => byNode.has(n.id))
      .sort((a, b) => byNode.get(b.id)!.length - byNode.get(a.id)!.length)[0];
    expect(victim, 'a worker runs at least one game').toBeDefined();
    const doomed = byNode.get(victim!.id)!;
    const survivors = names.filter((n) => !doomed.includes(n));
    const before = new Map<string, string>();
    for (const name of survivors) {
      const task = placed.get(name)!;
      before.set(name, (await nodeOf(task.nodeId).docker.getContainer(task.containerId).inspect()).State.StartedAt);
    }

    const pid = Number(readFileSync(victim!.pidfile, 'utf8').trim());
    const t = Date.now();
    process.kill(pid, 'SIGKILL');
    const down = await until(`${victim!.hostname} down`, 30_000, async () => {
      const s = await nodeState(cluster.manager, victim!.id);
      return s.state === 'down' ? s : undefined;
    });
    timings.nodeDownAfterKill = secondsSince(t);
    console.log(`${victim!.hostname} (${doomed.length} games) down after ${timings.nodeDownAfterKill} s: ${JSON.stringify(down)}`);
    expect(down.message).toMatch(/heartbeat/);

    // Swarm cannot know what became of those tasks: it keeps their last
    // observed state (running) and only sets the desired state to shutdown
    // (restart condition none: no replacement). An adapter must read the
    // node's state (or the desired state), not the task's, to see them gone.
    for (const name of doomed) {
      const tasks = await until(`${name} desired shutdown`, 15_000, async () => {
        const all = await tasksOf(cluster.manager, name);
        return all.every((x) => x.desiredState === 'shutdown') ? all : undefined;
      });
      timings.desiredShutdownAfterKill ??= secondsSince(t);
      console.log(`${name}: ${JSON.stringify(tasks.map(({ state, desiredState, message }) => ({ state, desiredState, message })))}`);
      expect(tasks).toHaveLength(1); // restart condition none: no new task anywhere
      expect(tasks[0]!.nodeId).toBe(victim!.id);
    }

    // Nothing else touched: the same task, running, desired running, the
    // same container started at the same instant, and still answering.
    for (const name of survivors) {
      const tasks = await tasksOf(cluster.manager, name);
      expect(tasks.map((x) => [x.id, x.state, x.desiredState])).toEqual([[placed.get(name)!.id, 'running', 'running']]);
      const home = nodeOf(placed.get(name)!.nodeId);
      const info = await home.docker.getContainer(placed.get(name)!.containerId).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.State.StartedAt).toBe(before.get(name));
    }
    const living = survivors.find((n) => placed.get(n)!.nodeId !== cluster.nodes[0]!.id) ?? survivors[0];
    if (living) {
      const probe = await probeByName(cluster.nodes[0]!, cluster.overlay, living);
      expect(probe.body).toContain('galaxy test engine');
    }
  }, 90_000);
});

describe('many nodes on one machine: the real pipeline on SwarmEngine', () => {
  const GAMES_B = 6;
  let cluster: Cluster;
  let deps: LifecycleDeps;
  let records: PostgresRuntimeRecordStore;
  let engine: SwarmEngine;
  let redis: Redis;
  let database: TestDatabase;
  let stateRoot: string;
  const stream = `test:mn${run}:health`;
  const gameIds = Array.from({ length: GAMES_B }, (_, i) => `mnb${run}-${i + 1}`);
  const started = new Map<string, RuntimeRecord>();
  /** game id → the swarm node id its engine runs on. */
  const nodeOfGame = new Map<string, string>();
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    const t = Date.now();
    // A fresh swarm: `up` alone would keep a healthy one a crashed run left, services and all.
    await swarmNodes(['down'], 60_000);
    console.log(await swarmNodes(['up', '3'], 120_000));
    cluster = await openCluster();
    timings.swarmUp = secondsSince(t);
    redis = new Redis(testRedisUrl());
    database = await createTestDatabase();
    // In Swarm mode RTMANAGER_GAME_STATE_ROOT must be one directory every node
    // sees (an NFS mount in production). Here every node's dockerd runs in the
    // machine's one mount namespace (only the network namespace is its own), so
    // a temporary directory is that shared directory: each node bind-mounts
    // the same path.
    stateRoot = await mkdtemp(path.join(os.tmpdir(), `rtm-mn-state-${run}-`));
    records = new PostgresRuntimeRecordStore(database.db);
    engine = new SwarmEngine({ docker: cluster.manager, telemetry: new RecordingTelemetry(), reserveLimits: true });
    const config = testConfig({
      RTMANAGER_RUNTIME_BACKEND: 'swarm',
      RTMANAGER_DOCKER_NETWORK: cluster.overlay,
      RTMANAGER_STOP_TIMEOUT_SECONDS: '1',
      RTMANAGER_CONTAINER_EXTRA_LABELS: `com.galaxy.test=multinode,com.galaxy.test_run=mn${run}`,
    });
    deps = {
      records,
      operations: new PostgresOperationLog(database.db),
      docker: engine,
      leases: new RedisGameLeases({ redis, prefix: `test:mn${run}:lease:` }),
      healthEvents: new RedisHealthEvents({ redis, stream, snapshots: new PostgresHealthSnapshots(database.db) }),
      notifications: new RedisNotifications({ redis, stream: `test:mn${run}:intents` }),
      crashRestarts: CRASH_POLICY_OFF,
      stateDirs: new FsStateDirectories({
        root: stateRoot,
        mode: config.container.gameStateDirMode,
        uid: config.container.gameStateOwnerUid,
        gid: config.container.gameStateOwnerGid,
      }),
      telemetry: new RecordingTelemetry(),
      logger: new RecordingLogger(),
      clock: { now: () => new Date() },
      newToken: () => randomBytes(32).toString('base64url'),
      settings: lifecycleSettings(config),
    };
  }, 150_000);

  afterAll(async () => {
    console.log(`multinode pipeline timings (s): ${JSON.stringify(timings)}`);
    try {
      if (redis) {
        const keys = await redis.keys(`test:mn${run}:*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await database?.close();
      if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
    } finally {
      // The services and their containers go with the nodes.
      console.log(await swarmNodes(['down'], 120_000));
    }
  }, 150_000);

  const nodeById = (id: string): SwarmNode => cluster.nodes.find((n) => n.id === id)!;

  async function healthEvents(): Promise<Array<Record<string, string>>> {
    return (await redis.xrange(stream, '-', '+')).map(([, flat]) => {
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
      return out;
    });
  }

  it('startRuntime runs each game as a service, and Swarm spreads them over the nodes', async () => {
    const t = Date.now();
    const results = await Promise.all(gameIds.map((gameId) => startRuntime(deps, { gameId, imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'multinode' })));
    timings.startAll = secondsSince(t);
    for (const [i, result] of results.entries()) {
      expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'success', errorCode: null });
      const record = result.record!;
      expect(record).toMatchObject({ status: 'running', engineEndpoint: `http://galaxy-game-${gameIds[i]}:8080`, dockerNetwork: cluster.overlay });
      started.set(gameIds[i]!, record);
      // The record's own node when the record carries it (issue 13's node_id), else the task's.
      const fromRecord = (record as unknown as { nodeId?: string | null }).nodeId;
      const info = await engine.inspectContainer(record.currentContainerId!);
      expect(info?.running).toBe(true);
      const nodeId = fromRecord ?? info!.node!.id;
      expect(info!.node!.id).toBe(nodeId);
      nodeOfGame.set(gameIds[i]!, nodeId);
    }
    const perNode = new Map<string, number>();
    for (const nodeId of nodeOfGame.values()) perNode.set(nodeById(nodeId).hostname, (perNode.get(nodeById(nodeId).hostname) ?? 0) + 1);
    console.log(`pipeline placement: ${JSON.stringify(Object.fromEntries(perNode))} (start of ${GAMES_B} games: ${timings.startAll} s)`);
    expect(perNode.size).toBeGreaterThanOrEqual(2);
    // The container Swarm made is on that node, with the state directory of the shared root.
    for (const [gameId, record] of started) {
      const container = await nodeById(nodeOfGame.get(gameId)!).docker.getContainer(record.currentContainerId!).inspect();
      expect(container.State.Running).toBe(true);
      expect(container.Mounts.map((m) => m.Source)).toContain(path.join(stateRoot, gameId));
    }
  }, 120_000);

  it("answers at its record's endpoint from a container on another node", async () => {
    const [gameId, record] = [...started].find(([id]) => nodeOfGame.get(id) !== cluster.nodes[0]!.id) ?? [...started][0]!;
    const endpoint = new URL(record.engineEndpoint!);
    const from = cluster.nodes.find((n) => n.id !== nodeOfGame.get(gameId))!;
    const where = `${endpoint.hostname} on ${nodeById(nodeOfGame.get(gameId)!).hostname}, probed from ${from.hostname}`;
    // The overlay's data path first: `tasks.{service}` is the task's own address in either endpoint mode.
    const direct = await probeByName(from, cluster.overlay, `tasks.${endpoint.hostname}`, Number(endpoint.port));
    console.log(`${where} as tasks.${endpoint.hostname}: ${direct.output.replace(/\s+/g, ' ').trim()}`);
    expect(direct.body).toContain('galaxy test engine');
    // Then the endpoint the record gives the platform. With the service's
    // default endpoint mode (vip) the name resolves to a virtual IP that only
    // IPVS carries, and this kernel has none (CONFIG_IP_VS unset): "No route
    // to host". Endpoint mode dnsrr resolves the name to the task's address.
    const t = Date.now();
    const probe = await probeByName(from, cluster.overlay, endpoint.hostname, Number(endpoint.port));
    timings.crossNodeProbe = secondsSince(t);
    const mode =
      ((await cluster.manager.getService(endpoint.hostname).inspect()) as { Spec: { EndpointSpec?: { Mode?: string } } }).Spec.EndpointSpec?.Mode ?? 'vip';
    console.log(`${where} (endpoint mode ${mode}): ${probe.output.replace(/\s+/g, ' ').trim()}`);
    expect(probe.body, `${endpoint.hostname} (endpoint mode ${mode}) from ${from.hostname}`).toContain('galaxy test engine');
  }, 60_000);

  it('a worker powered off: reconcileAll marks exactly its games removed with container_disappeared, in bounded time; the others are untouched', async () => {
    const counts = new Map<string, string[]>();
    for (const [gameId, nodeId] of nodeOfGame) counts.set(nodeId, [...(counts.get(nodeId) ?? []), gameId]);
    const victim = cluster.nodes
      .slice(1)
      .filter((n) => counts.has(n.id))
      .sort((a, b) => counts.get(b.id)!.length - counts.get(a.id)!.length)[0];
    expect(victim, 'a worker runs at least one game').toBeDefined();
    const doomed = counts.get(victim!.id)!;
    const survivors = gameIds.filter((id) => !doomed.includes(id));
    expect(survivors.length).toBeGreaterThan(0);
    // A pass before the kill changes nothing.
    const calm = await reconcileAll(deps);
    expect(calm).toMatchObject({ disappeared: 0, exited: 0, adopted: 0, failed: 0 });
    const beforeRecords = new Map<string, RuntimeRecord | null>();
    for (const id of survivors) beforeRecords.set(id, await records.get(id));
    const eventsBefore = (await healthEvents()).length;

    const t = Date.now();
    console.log(await swarmNodes(['kill', String(victim!.index)], 30_000));
    // Pass after pass until its games are removed: not `until`, which retries whatever throws,
    // so a pass that failed or threw would be hidden behind a later one that converged.
    const summaries: ReconcileSummary[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      summaries.push(await reconcileAll(deps));
      const now = await Promise.all(doomed.map((id) => records.get(id)));
      if (now.every((r) => r?.status === 'removed')) break;
      if (Date.now() > deadline) throw new Error(`the games of ${victim!.hostname} not removed within 60000 ms: ${JSON.stringify(now.map((r) => r?.status))}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    timings.removedAfterKill = secondsSince(t);
    console.log(
      `${victim!.hostname} (${doomed.length} games) powered off: all its games removed after ${timings.removedAfterKill} s, ${summaries.length} reconcile passes`,
    );
    // Every pass, not only the last: none failed a game, and together they removed each doomed game once.
    expect(summaries.filter((summary) => summary.failed !== 0)).toEqual([]);
    expect(summaries.reduce((sum, summary) => sum + summary.disappeared, 0)).toBe(doomed.length);

    const events = (await healthEvents()).slice(eventsBefore);
    for (const id of doomed) {
      const mine = events.filter((e) => e.game_id === id);
      expect(mine.map((e) => e.event_type)).toEqual(['container_disappeared']);
      expect(mine[0]!.container_id).toBe(started.get(id)!.currentContainerId);
    }
    // Nothing else touched: no event, the same record, the same task running the same container.
    expect(events.filter((e) => survivors.includes(e.game_id!))).toEqual([]);
    for (const id of survivors) {
      expect(await records.get(id)).toEqual(beforeRecords.get(id));
      const info = await engine.inspectContainer(started.get(id)!.currentContainerId!);
      expect(info).toMatchObject({ id: started.get(id)!.currentContainerId, running: true, unreachable: false });
      const container = await nodeById(nodeOfGame.get(id)!).docker.getContainer(started.get(id)!.currentContainerId!).inspect();
      expect(container.State.Running).toBe(true);
    }
    // And one more pass changes nothing.
    expect(await reconcileAll(deps)).toMatchObject({ disappeared: 0, exited: 0, adopted: 0, failed: 0 });
  }, 120_000);
});
