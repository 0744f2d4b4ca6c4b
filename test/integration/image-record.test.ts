/**
 * What the container got (contract §11), on real Docker, Redis, Postgres and
 * the private registry: the image digest and the limits Docker applied, as
 * the record and the audit keep them; the ceilings on image labels; the
 * allowed registries.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';
import { pushEngineImage, removeLocalImage, testRegistry } from '../support/registry.js';

const LABELLED = 'galaxy-test-engine:labelled';
const GREEDY = 'galaxy-test-engine:greedy';
const MIB = 1024 * 1024;

const worlds: RealWorld[] = [];
const pulledImages: string[] = [];

async function world(env: Record<string, string> = {}): Promise<RealWorld> {
  const w = await realWorld({ env });
  worlds.push(w);
  return w;
}

afterEach(async () => {
  // Containers first: an image goes once nothing runs it.
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
  for (const ref of pulledImages.splice(0)) removeLocalImage(ref);
});

const start = (w: RealWorld, gameId: string, imageRef: string) => startRuntime(w.deps, { gameId, imageRef, opSource: 'gm_rest', sourceRef: 'it' });

/** What Docker says the container got. */
async function applied(w: RealWorld, containerId: string) {
  const { HostConfig } = await w.docker.getContainer(containerId).inspect();
  return { cpuQuota: (HostConfig.NanoCpus ?? 0) / 1e9, memoryBytes: HostConfig.Memory, pidsLimit: HostConfig.PidsLimit };
}

describe('what the container got', () => {
  it('a local image: its image id as the digest, the limits Docker applied; a stop keeps the digest and drops the limits and the node', async () => {
    const w = await world();
    const gameId = w.gameId('local');
    const imageId = (await w.docker.getImage(LABELLED).inspect()).Id;

    const result = await start(w, gameId, LABELLED);
    expect(result.outcome).toBe('success');
    const record = result.record!;
    // The image's labels (cpu 0.5, memory 64m, pids 64), as Docker reports them back.
    expect(await applied(w, record.currentContainerId!)).toEqual({ cpuQuota: 0.5, memoryBytes: 64 * MIB, pidsLimit: 64 });
    expect(record).toMatchObject({ currentImageDigest: imageId, effectiveCpuQuota: 0.5, effectiveMemoryBytes: 64 * MIB, effectivePidsLimit: 64 });
    // Where the engine says it runs (one engine: nowhere to name).
    const node = (await w.engine.inspectContainer(record.currentContainerId!))?.node ?? null;
    expect(record).toMatchObject({ nodeId: node?.id ?? null, nodeHostname: node?.hostname ?? null });
    expect(await w.records.get(gameId)).toEqual(record);

    const stopped = await stopRuntime(w.deps, { gameId, opSource: 'gm_rest', sourceRef: 'it' });
    expect(stopped.record).toMatchObject({
      status: 'stopped',
      currentImageDigest: imageId,
      effectiveCpuQuota: null,
      effectiveMemoryBytes: null,
      effectivePidsLimit: null,
      nodeId: null,
      nodeHostname: null,
    });
    expect(await w.records.get(gameId)).toEqual(stopped.record);
    expect((await w.operations.listByGame(gameId, 10)).map((e) => [e.opKind, e.outcome, e.imageDigest])).toEqual([
      ['stop', 'success', imageId],
      ['start', 'success', imageId],
    ]);
  });

  it('an image pulled from the registry: the digest it was pushed with, not its local id', async () => {
    const registry = testRegistry();
    const pushed = pushEngineImage({ keepLocal: false, labels: { 'com.galaxy.cpu_quota': '0.25', 'com.galaxy.memory': '32m', 'com.galaxy.pids_limit': '32' } });
    pulledImages.push(pushed.ref);
    execFileSync('docker', ['--config', path.dirname(registry.dockerConfigPath), 'pull', pushed.ref], { stdio: 'pipe' });
    // Its registry is on the allowed list, so the list lets it through.
    const w = await world({ RTMANAGER_ALLOWED_REGISTRIES: `docker.io,${registry.host}` });
    const gameId = w.gameId('pulled');

    const result = await start(w, gameId, pushed.ref);
    expect(result.outcome).toBe('success');
    const record = result.record!;
    expect(record.currentImageDigest).toBe(pushed.digest);
    expect(record.currentImageDigest).not.toBe((await w.docker.getImage(pushed.ref).inspect()).Id);
    expect(await applied(w, record.currentContainerId!)).toEqual({ cpuQuota: 0.25, memoryBytes: 32 * MIB, pidsLimit: 32 });
    expect(record).toMatchObject({ effectiveCpuQuota: 0.25, effectiveMemoryBytes: 32 * MIB, effectivePidsLimit: 32 });
    expect(await w.operations.listByGame(gameId, 1)).toEqual([expect.objectContaining({ outcome: 'success', imageDigest: pushed.digest })]);
  });
});

describe('ceilings on image labels', () => {
  it('refuses an image asking for memory 1p and 100000 processes, naming each label and its maximum; nothing runs', async () => {
    const w = await world();
    const gameId = w.gameId('greedy');
    const result = await start(w, gameId, GREEDY);
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage:
        'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY); ' +
        'image label com.galaxy.pids_limit=100000 is above the maximum 4096 (RTMANAGER_CONTAINER_MAX_PIDS_LIMIT)',
      record: null,
      retryable: false,
    });
    expect(await w.containersOf(gameId)).toEqual([]);
    expect(await w.records.get(gameId)).toBeNull();
    const imageId = (await w.docker.getImage(GREEDY).inspect()).Id;
    expect(await w.operations.listByGame(gameId, 5)).toEqual([
      expect.objectContaining({ outcome: 'failure', errorCode: 'start_config_invalid', errorMessage: result.errorMessage, imageDigest: imageId }),
    ]);
    const intents = await w.streamEntries(w.streams.intents);
    expect(intents.map((i) => i.notification_type)).toEqual(['runtime.start_config_invalid']);
    expect(JSON.parse(intents[0]!.payload!)).toMatchObject({ game_id: gameId, image_ref: GREEDY, error_message: result.errorMessage });
  });

  it('runs the same image when the operator raises the ceilings, and Docker applies what it asked', async () => {
    const w = await world({ RTMANAGER_CONTAINER_MAX_MEMORY: '2p', RTMANAGER_CONTAINER_MAX_PIDS_LIMIT: '100000' });
    const result = await start(w, w.gameId('raised'), GREEDY);
    expect(result.outcome).toBe('success');
    const got = await applied(w, result.record!.currentContainerId!);
    expect(got.pidsLimit).toBe(100_000);
    // Whatever the daemon made of a petabyte, the record says what it made, not what was asked.
    expect(result.record).toMatchObject({ effectiveMemoryBytes: got.memoryBytes, effectivePidsLimit: 100_000 });
  });
});

describe('allowed registries', () => {
  it('refuses an image from a registry not on the list before any pull: the image never becomes local', async () => {
    const registry = testRegistry();
    const pushed = pushEngineImage({ keepLocal: false });
    pulledImages.push(pushed.ref);
    const w = await world({ RTMANAGER_ALLOWED_REGISTRIES: 'docker.io,registry.galaxy.example', RTMANAGER_DOCKER_PULL_POLICY: 'always' });
    const pull = vi.spyOn(w.engine, 'pullImage');
    const gameId = w.gameId('notallowed');

    const result = await start(w, gameId, pushed.ref);
    expect(result).toEqual({
      outcome: 'failure',
      errorCode: 'start_config_invalid',
      errorMessage: `image registry "${registry.host}" is not allowed (RTMANAGER_ALLOWED_REGISTRIES: docker.io, registry.galaxy.example)`,
      record: null,
      retryable: false,
    });
    expect(pull).not.toHaveBeenCalled();
    await expect(w.docker.getImage(pushed.ref).inspect()).rejects.toThrow(/no such image/i);
    expect(await w.containersOf(gameId)).toEqual([]);
    expect(await w.operations.listByGame(gameId, 5)).toEqual([
      expect.objectContaining({ outcome: 'failure', errorCode: 'start_config_invalid', imageRef: pushed.ref, imageDigest: null }),
    ]);
  });
});
