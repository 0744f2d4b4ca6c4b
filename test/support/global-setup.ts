/**
 * Before the integration suites: every real service must answer (with a
 * clear message naming the one that does not), the project's engine (the
 * default one, or the swarm's: its RTM_TEST_BACKEND) must answer and hold the
 * test engine images. After them: sweep whatever a crashed test left behind.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import type { TestBackend } from './backend.js';
import { removeServices, testBackend, testDocker, testDockerHost } from './backend.js';
import { removeContainers, testPgUrl, testRedisUrl, testSession } from './services.js';

const IMAGES = [
  'labelled',
  'labelled-v2',
  'plain',
  'badlabels',
  'greedy',
  'tiny',
  'exits',
  'exits-later',
  'hog',
  // Contract §15, health.
  'healthcheck',
  // Contract §15, graceful stop.
  'graceful',
  'graceful-stopsignal',
  'stubborn',
  'slow-stop',
].map((t) => `galaxy-test-engine:${t}`);
const HINT = 'run: bash scripts/services.sh up';

async function check(name: string, probe: () => Promise<unknown>, hint = HINT): Promise<void> {
  try {
    await probe();
  } catch (error) {
    throw new Error(`${name} does not answer (${error instanceof Error ? error.message : String(error)}); ${hint}`, { cause: error });
  }
}

/**
 * Removes this session's services (on a swarm), containers and networks
 * created since this run began: a concurrent run on the same daemon (another
 * engineer's) carries another session in its label and keeps its own.
 */
async function sweep(docker: Dockerode, backend: TestBackend, since: number): Promise<string[]> {
  const label = [`com.galaxy.test=${testSession()}`];
  const sinceSeconds = Math.floor(since / 1000) - 1;
  // First: a service left in place would make its container again.
  const services = backend === 'swarm' ? await removeServices(docker, { label }, since - 1000) : [];
  const containers = (await docker.listContainers({ all: true, filters: { label } })).filter((c) => c.Created >= sinceSeconds);
  await removeContainers(
    docker,
    containers.map((c) => c.Id),
  );
  const networks = (await docker.listNetworks({ filters: { label } })).filter((n) => Date.parse(n.Created) >= since - 1000);
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
  return [...services.map((name) => `service ${name}`), ...containers.map((c) => c.Names[0] ?? c.Id), ...networks.map((n) => `network ${n.Name}`)];
}

/** dist/main.js older than any source file (or missing). */
function buildIsStale(): boolean {
  const built = statSync('dist/main.js', { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)),
    );
  return built < Math.max(newest('src'), statSync('tsconfig.build.json').mtimeMs, statSync('tsconfig.json').mtimeMs);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = Date.now();
  // The project's env reaches its test files, not this process: read it from the project.
  const backend = testBackend({ RTM_TEST_BACKEND: (project.config.env as Record<string, string | undefined> | undefined)?.RTM_TEST_BACKEND });
  const host = testDockerHost(backend);
  const docker = testDocker(backend);
  // Before any test file runs, so workers and the processes they spawn inherit it.
  process.env.RTM_TEST_SESSION ??= `s${randomUUID().slice(0, 8)}`;
  await check('Redis', async () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3_000 });
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  });
  await check('PostgreSQL', async () => {
    const sql = postgres(testPgUrl(), { max: 1, connect_timeout: 3, onnotice: () => undefined });
    try {
      await sql`select 1`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
  await check(`Docker engine (${host})`, () => docker.ping(), backend === 'swarm' ? `${HINT} --swarm` : HINT);
  if (backend === 'swarm') {
    const state = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    if (state.Swarm?.LocalNodeState !== 'active' || !state.Swarm.ControlAvailable) {
      throw new Error(`the engine at ${host} is not a swarm manager (swarm ${state.Swarm?.LocalNodeState ?? 'unknown'}); ${HINT} --swarm`);
    }
  }

  const missing = [];
  for (const image of IMAGES) {
    if (
      !(await docker
        .getImage(image)
        .inspect()
        .then(
          () => true,
          () => false,
        ))
    )
      missing.push(image);
  }
  if (missing.length) execFileSync('bash', ['scripts/build-test-images.sh'], { stdio: 'inherit', env: { ...process.env, DOCKER_HOST: host } });
  // Spawned processes run the compiled build, as the Procfile does: keep it current.
  if (buildIsStale()) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

  return async () => {
    const left = await sweep(docker, backend, startedAt);
    if (left.length) console.warn(`global teardown removed test leftovers: ${left.join(', ')}`);
  };
}
