/**
 * The raw baseline: what the manager does to Docker (hardened as contract
 * §12 says, its own bind-mounted state directory), without the manager; and
 * the cold images both sides pull.
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { docker } from '../test/faults/support.js';
import { pushEngineImage, testRegistry } from '../test/support/registry.js';

export const IMAGE = 'galaxy-test-engine:labelled';
/** The unique layer of each cold image: it is what a cold start downloads. */
export const COLD_LAYER_BYTES = 20 * 1024 * 1024;

/** Where the raw baseline's containers keep their state directories. */
const RAW_STATE_ROOT = path.join(tmpdir(), 'rtm-bench-raw-state');
export const rawStateDir = (name: string) => path.join(RAW_STATE_ROOT, name);

/** The raw baseline: what the manager does to Docker (hardened as contract §12 says), without the manager. */
export async function rawStart(network: string, name: string, image = IMAGE): Promise<Dockerode.Container> {
  const container = await rawCreate(network, name, image);
  await container.start();
  return container;
}

export async function rawCreate(network: string, name: string, image: string): Promise<Dockerode.Container> {
  // Its own state directory, bind-mounted where the manager mounts a game's: the same work for the daemon.
  const state = rawStateDir(name);
  await mkdir(state, { recursive: true, mode: 0o750 });
  return docker.createContainer({
    name,
    Hostname: name,
    Image: image,
    Labels: { 'com.galaxy.test': '1', 'com.galaxy.bench': 'raw' },
    Env: ['GALAXY_ENGINE_STATE_DIR=/var/lib/galaxy/engine', 'STORAGE_PATH=/var/lib/galaxy/engine'],
    // As the system's containers (contract §15): the engine's stop signal and timeout, set at create.
    StopSignal: 'SIGTERM',
    StopTimeout: 10,
    HostConfig: {
      NetworkMode: network,
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      PidsLimit: 64,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${64 * 1024 * 1024}` },
      MemorySwap: 64 * 1024 * 1024,
      Init: true,
      Mounts: [{ Type: 'bind', Source: state, Target: '/var/lib/galaxy/engine', ReadOnly: false }],
    },
    NetworkingConfig: { EndpointsConfig: { [network]: {} } },
  });
}

export async function removeRaw(): Promise<void> {
  const raw = await docker.listContainers({ all: true, filters: { label: ['com.galaxy.bench=raw'] } });
  await Promise.all(
    raw.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await rm(RAW_STATE_ROOT, { recursive: true, force: true });
}

/** The raw baseline of a cold start: `docker pull` with the registry's credentials, to its last progress line. */
export async function rawPull(ref: string): Promise<void> {
  const registry = testRegistry();
  const stream = await docker.pull(ref, { authconfig: { username: registry.user, password: registry.password, serveraddress: registry.host } });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
      const failed = events.find((e) => e.error);
      if (error ?? failed) reject(error ?? new Error(failed?.error));
      else resolve();
    });
  });
}

/** A fresh engine image in the test registry, not local: a start of it pulls its unique layer. */
export function coldImage(pushed: string[]): string {
  const { ref } = pushEngineImage({ layerBytes: COLD_LAYER_BYTES });
  pushed.push(ref);
  return ref;
}
