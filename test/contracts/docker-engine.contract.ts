import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isContainerNameTaken } from '../../src/domain/errors.js';
import type { DockerEngine, PullProgress, RunSpec } from '../../src/domain/engine-port.js';
import { describeStatsContract } from './engine-stats.contract.js';
import { describeLogsContract } from './engine-logs.contract.js';
import { subjectRunner } from './subject.js';

export interface DockerEngineSubject {
  port: DockerEngine;
  /** An image present locally, with labels cpu 0.5 / memory 64m / pids 64. */
  localImage: string;
  /** A well-formed ref no registry here can serve. */
  remoteImage: string;
  /** A fresh `registry/repo:tag` in a registry that answers (with the credentials the port was given), not local. */
  pullableImage(): Promise<string>;
  /**
   * Local, with a HEALTHCHECK that passes while the file `ok` is in the
   * directory mounted at HEALTH_MOUNT (its first probe a second after the start).
   */
  healthImage: string;
  /** Local, limits as `localImage`'s, an engine that keeps a CPU busy. */
  busyImage: string;
  /** A ref whose registry does not answer, of which a local copy exists. */
  unreachableLocalImage: string;
  /** Downloads the port has started so far (a shared pull counts once). */
  downloads(): number;
  network: string;
  /** Local: writes what galaxy-test-engine:chatter writes (engine-logs.contract.ts). */
  chatterImage: string;
  /** Unique per test run: container names start with it. */
  prefix: string;
  /** Labels every container the suite creates must carry (for cleanup). */
  extraLabels: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * The suites' engine: `{prefix}-{suffix}`, game id `suffix`, hardened as
 * contract §12 has it by default and as an unprivileged user (the test
 * image must serve under all of it), limits 0.5 CPU / 64m / 64 pids.
 */
export function contractRunSpec(s: DockerEngineSubject, suffix: string, over: Partial<RunSpec> = {}): RunSpec {
  return {
    name: `${s.prefix}-${suffix}`,
    hostname: `${s.prefix}-${suffix}`,
    image: s.localImage,
    network: s.network,
    env: { GALAXY_ENGINE_STATE_DIR: '/state', STORAGE_PATH: '/state' },
    labels: { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': suffix, ...s.extraLabels },
    bindMounts: [],
    logDriver: 'json-file',
    logOpts: { 'max-size': '1m' },
    nanoCpus: 500_000_000,
    memoryBytes: 64 * 1024 * 1024,
    pidsLimit: 64,
    capDrop: ['ALL'],
    capAdd: [],
    readOnlyRootfs: true,
    scratchMounts: [{ mountPath: '/tmp', sizeBytes: 8 * 1024 * 1024 }],
    user: '65534:65534',
    stopSignal: 'SIGTERM',
    stopTimeoutSeconds: 1,
    ...over,
  };
}

/** Where the health image looks for its `ok` file: RTMANAGER_ENGINE_STATE_MOUNT_PATH's default. */
export const HEALTH_MOUNT = '/var/lib/galaxy/engine';

/** A host directory for the health image's mount, with `ok` in it or not; the engine's user may read it. */
async function withHealthDir<T>(ok: boolean, body: (hostPath: string) => Promise<T>): Promise<T> {
  const hostPath = await mkdtemp(path.join(os.tmpdir(), 'rtm-health-'));
  try {
    await chmod(hostPath, 0o755);
    if (ok) await writeFile(path.join(hostPath, 'ok'), '');
    return await body(hostPath);
  } finally {
    await rm(hostPath, { recursive: true, force: true });
  }
}

export function describeDockerEngineContract(name: string, make: () => Promise<DockerEngineSubject>): void {
  describe(`DockerEngine contract: ${name}`, () => {
    const withSubject = subjectRunner(make);
    const spec = contractRunSpec;

    it(
      'answers ping',
      withSubject(async ({ port }) => {
        expect(await port.ping()).toBe(true);
      }),
    );

    it(
      'tells an existing network from a missing one',
      withSubject(async (s) => {
        expect(await s.port.networkExists(s.network)).toBe(true);
        expect(await s.port.networkExists(`${s.prefix}-no-such-network`)).toBe(false);
      }),
    );

    it(
      'pulls per policy: a local image is present to never and if_not_present; never refuses naming the policy; a ref no registry serves fails',
      withSubject(async (s) => {
        expect(await s.port.pullImage(s.localImage, 'never')).toEqual({ kind: 'present' });
        expect(await s.port.pullImage(s.localImage, 'if_not_present')).toEqual({ kind: 'present' });
        await expect(s.port.pullImage(s.remoteImage, 'if_not_present')).rejects.toThrow(s.remoteImage);
        await expect(s.port.pullImage(s.remoteImage, 'always')).rejects.toThrow(s.remoteImage);
        await expect(s.port.pullImage(s.remoteImage, 'never')).rejects.toThrow(
          `image ${s.remoteImage} is not present locally and the pull policy "never" (RTMANAGER_DOCKER_PULL_POLICY) forbids pulling it`,
        );
      }),
    );

    it(
      'pulls an image that is not local, telling its progress over the layers, and then it is local',
      withSubject(async (s) => {
        const ref = await s.pullableImage();
        const progress: PullProgress[] = [];
        expect(await s.port.pullImage(ref, 'if_not_present', { onProgress: (p) => progress.push(p) })).toEqual({ kind: 'pulled' });
        const last = progress.at(-1)!;
        expect(last.layersTotal).toBeGreaterThan(0);
        expect(last).toEqual({ layersDone: last.layersTotal, layersTotal: last.layersTotal, bytesDone: last.bytesTotal, bytesTotal: last.bytesTotal });
        expect(last.bytesTotal).toBeGreaterThan(0);
        await s.port.inspectImage(ref);
        expect(await s.port.pullImage(ref, 'if_not_present')).toEqual({ kind: 'present' });
        expect(await s.port.pullImage(ref, 'always')).toEqual({ kind: 'pulled' });
      }),
    );

    it(
      'a tag the registry does not have fails saying it was not found, with no fallback even under always',
      withSubject(async (s) => {
        const missing = (await s.pullableImage()).replace(/:[^:/]+$/, ':no-such-tag');
        await expect(s.port.pullImage(missing, 'always', { fallbackToLocal: true })).rejects.toThrow(
          /was not found in registry .*\(no such repository, tag or digest\)/,
        );
      }),
    );

    it(
      'always, registry unreachable: the local copy when fallbackToLocal says so, else a failure saying the registry could not be reached',
      withSubject(async (s) => {
        const outcome = await s.port.pullImage(s.unreachableLocalImage, 'always', { fallbackToLocal: true });
        expect(outcome).toEqual({ kind: 'local_fallback', reason: expect.stringMatching(/^registry \S+ could not be reached to pull /) as unknown });
        await expect(s.port.pullImage(s.unreachableLocalImage, 'always')).rejects.toThrow(/^registry \S+ could not be reached to pull /);
        expect(await s.port.pullImage(s.unreachableLocalImage, 'if_not_present')).toEqual({ kind: 'present' });
      }),
    );

    it(
      'pulls of one ref at once are one download that every caller hears; the next pull after it is a new one',
      withSubject(async (s) => {
        const ref = await s.pullableImage();
        const before = s.downloads();
        const heard = [0, 0, 0];
        const outcomes = await Promise.all(heard.map((_, i) => s.port.pullImage(ref, 'always', { onProgress: () => (heard[i] = heard[i]! + 1) })));
        expect(outcomes).toEqual([{ kind: 'pulled' }, { kind: 'pulled' }, { kind: 'pulled' }]);
        expect(s.downloads() - before).toBe(1);
        expect(heard.every((n) => n > 0)).toBe(true);
        await s.port.pullImage(ref, 'always');
        expect(s.downloads() - before).toBe(2);
      }),
    );

    it(
      'a shared pull that fails fails every caller waiting on it',
      withSubject(async (s) => {
        const missing = (await s.pullableImage()).replace(/:[^:/]+$/, ':gone');
        const before = s.downloads();
        const settled = await Promise.allSettled([1, 2, 3].map(() => s.port.pullImage(missing, 'if_not_present')));
        expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
        expect(s.downloads() - before).toBe(1);
      }),
    );

    it(
      'reads image labels, id and repo digests, by ref or by id, and fails on an image that is not local',
      withSubject(async (s) => {
        const image = await s.port.inspectImage(s.localImage);
        expect(image.labels).toMatchObject({
          'com.galaxy.cpu_quota': '0.5',
          'com.galaxy.memory': '64m',
          'com.galaxy.pids_limit': '64',
        });
        expect(image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
        // Its Dockerfile has no STOPSIGNAL.
        expect(image.stopSignal).toBeNull();
        for (const entry of image.repoDigests) expect(entry).toMatch(/^[^@\s]+@sha256:[0-9a-f]{64}$/);
        expect(await s.port.inspectImage(image.id)).toEqual(image);
        await expect(s.port.inspectImage(s.remoteImage)).rejects.toThrow();
      }),
    );

    it(
      'runs a container that inspect and list then show, and refuses a second with its name',
      withSubject(async (s) => {
        const before = Date.now();
        const run = await s.port.run(spec(s, 'run'));
        expect(run.containerId).toMatch(/^[0-9a-z]{12,}$/);
        expect(run.startedAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
        // Read back from the daemon: what it applied, equal to what the spec asked for.
        const applied = { cpuQuota: 0.5, memoryBytes: 64 * 1024 * 1024, pidsLimit: 64 };
        expect(run.effective).toEqual(applied);
        const info = await s.port.inspectContainer(`${s.prefix}-run`);
        expect(info).toMatchObject({ id: run.containerId, name: `${s.prefix}-run`, running: true, state: 'running', exitCode: null, oomKilled: false });
        expect(info?.effective).toEqual(applied);
        expect(info?.imageId).toBe((await s.port.inspectImage(s.localImage)).id);
        expect(info?.labels).toMatchObject({ 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'run' });
        expect((await s.port.inspectContainer(run.containerId))?.name).toBe(`${s.prefix}-run`);
        const listed = await s.port.listContainers({ 'com.galaxy.game_id': 'run', ...s.extraLabels });
        expect(listed.map((c) => c.id)).toEqual([run.containerId]);
        expect(listed[0]?.imageId).toBe(info?.imageId);
        // Known by its code: the start answers it as a late create of its own, converged on by the re-run.
        const taken = await s.port.run(spec(s, 'run')).then(
          () => null,
          (error: unknown) => error,
        );
        expect(isContainerNameTaken(taken), String(taken)).toBe(true);
        expect(String(taken)).toMatch(/already in use|conflict/i);
      }),
    );

    it(
      'fails to run an image that is not local, and leaves no container behind',
      withSubject(async (s) => {
        await expect(s.port.run(spec(s, 'noimage', { image: s.remoteImage }))).rejects.toThrow();
        expect(await s.port.inspectContainer(`${s.prefix}-noimage`)).toBeNull();
      }),
    );

    it(
      'refuses to run an engine with a limit Docker reads as none or cannot apply, before asking the daemon: nothing is left behind',
      withSubject(async (s) => {
        const unlimited: Array<[string, Partial<RunSpec>]> = [
          ['nano0', { nanoCpus: 0 }],
          // A CFS quota under the kernel's 1 ms: the start would fail; under 10^4 it is a quota of 0, none.
          ['nanosmall', { nanoCpus: 9_999_999 }],
          ['mem0', { memoryBytes: 0 }],
          ['memsmall', { memoryBytes: 6 * 1024 * 1024 - 1 }],
          ['pids0', { pidsLimit: 0 }],
          ['pidsneg', { pidsLimit: -1 }],
        ];
        for (const [suffix, limits] of unlimited) {
          await expect(s.port.run(spec(s, suffix, limits)), suffix).rejects.toThrow(/^refused to run an engine without limits: /);
          expect(await s.port.inspectContainer(`${s.prefix}-${suffix}`)).toBeNull();
        }
        // The smallest CPU and memory limits Docker applies run (pids 2: the init process and the engine; 1 leaves the init no fork).
        const least = await s.port.run(spec(s, 'least', { nanoCpus: 10_000_000, memoryBytes: 6 * 1024 * 1024, pidsLimit: 2 }));
        expect(least.effective).toEqual({ cpuQuota: 0.01, memoryBytes: 6 * 1024 * 1024, pidsLimit: 2 });
      }),
    );

    it(
      'stops (idempotently) and removes (idempotently)',
      withSubject(async (s) => {
        const run = await s.port.run(spec(s, 'stop'));
        await s.port.stop(run.containerId, 1);
        const stopped = await s.port.inspectContainer(run.containerId);
        expect(stopped).toMatchObject({ running: false });
        expect(typeof stopped?.exitCode).toBe('number');
        await s.port.stop(run.containerId, 1);
        const listed = await s.port.listContainers({ 'com.galaxy.game_id': 'stop', ...s.extraLabels });
        expect(listed).toEqual([
          expect.objectContaining({
            id: run.containerId,
            running: false,
            exitCode: stopped?.exitCode,
            effective: { cpuQuota: 0.5, memoryBytes: 64 * 1024 * 1024, pidsLimit: 64 },
          }),
        ]);
        await s.port.remove(run.containerId);
        expect(await s.port.inspectContainer(run.containerId)).toBeNull();
        await s.port.remove(run.containerId);
        await s.port.stop(run.containerId, 1);
      }),
    );

    it(
      'sets the stop signal and timeout on the container (contract §15), and a stop ends the engine by that signal, through the init',
      withSubject(async (s) => {
        const run = await s.port.run(spec(s, 'signal', { stopSignal: 'SIGINT', stopTimeoutSeconds: 7 }));
        expect(await s.port.inspectContainer(run.containerId)).toMatchObject({ running: true, stopSignal: 'SIGINT', stopTimeoutSeconds: 7 });
        await s.port.stop(run.containerId, 7);
        // The engine has no handler for SIGINT and dies of it; the init exits as it did: 128 + 2. SIGTERM would be 143.
        const stopped = await s.port.inspectContainer(run.containerId);
        expect(stopped).toMatchObject({ running: false, exitCode: 130, oomKilled: false, stopSignal: 'SIGINT', stopTimeoutSeconds: 7 });
        // Not running, so read in full: the listing says the same.
        const listed = await s.port.listContainers({ 'com.galaxy.game_id': 'signal', ...s.extraLabels });
        expect(listed).toEqual([expect.objectContaining({ id: run.containerId, exitCode: 130, stopSignal: 'SIGINT', stopTimeoutSeconds: 7 })]);
      }),
    );

    it(
      'declares whether it replaces in place, and does what it declares: a new engine under the name, or a refusal that leaves the running one be',
      withSubject(async (s) => {
        const before = await s.port.run(spec(s, 'declared'));
        const next = spec(s, 'declared', { env: { ...spec(s, 'declared').env, GENERATION: '2' } });
        if (s.port.capabilities.replaceInPlace) {
          const after = await s.port.replace(before.containerId, next);
          expect(after.containerId).not.toBe(before.containerId);
          expect(await s.port.inspectContainer(`${s.prefix}-declared`)).toMatchObject({ id: after.containerId, running: true });
        } else {
          await expect(s.port.replace(before.containerId, next)).rejects.toThrow(/cannot replace .* in place/);
          expect(await s.port.inspectContainer(`${s.prefix}-declared`)).toMatchObject({ id: before.containerId, running: true });
        }
      }),
    );

    describeHealthContract(withSubject);
    describeStatsContract(withSubject);

    describeLogsContract(withSubject, contractRunSpec);

    it(
      'answers null for a container that does not exist',
      withSubject(async (s) => {
        expect(await s.port.inspectContainer(`${s.prefix}-ghost`)).toBeNull();
        expect(await s.port.listContainers({ 'com.galaxy.game_id': `${s.prefix}-ghost` })).toEqual([]);
      }),
    );
  });
}

/** Contract §15: the HEALTHCHECK as the port tells it. */
function describeHealthContract(withSubject: ReturnType<typeof subjectRunner<DockerEngineSubject>>): void {
  const healthSpec = (s: DockerEngineSubject, suffix: string, hostPath: string) =>
    contractRunSpec(s, suffix, { image: s.healthImage, bindMounts: [{ hostPath, mountPath: HEALTH_MOUNT, readOnly: false }] });

  it(
    'says whether an image declares a HEALTHCHECK',
    withSubject(async (s) => {
      expect((await s.port.inspectImage(s.localImage)).healthcheck).toBe(false);
      expect((await s.port.inspectImage(s.healthImage)).healthcheck).toBe(true);
    }),
  );

  it(
    "waits for a HEALTHCHECK's first verdict: healthy while it passes, unhealthy when it fails; the container's health says so",
    withSubject((s) =>
      withHealthDir(true, async (passing) => {
        await withHealthDir(false, async (failing) => {
          const [good, bad] = await Promise.all([s.port.run(healthSpec(s, 'healthy', passing)), s.port.run(healthSpec(s, 'unhealthy', failing))]);
          const verdicts = await Promise.all([s.port.awaitHealth(good.containerId, 30_000), s.port.awaitHealth(bad.containerId, 30_000)]);
          expect(verdicts).toEqual(['healthy', 'unhealthy']);
          expect(await s.port.inspectContainer(good.containerId)).toMatchObject({ running: true, health: 'healthy' });
        });
      }),
    ),
  );

  it(
    'answers timeout when no verdict comes in time, none without a HEALTHCHECK, gone once the container stopped',
    withSubject((s) =>
      withHealthDir(true, async (hostPath) => {
        const waiting = await s.port.run(healthSpec(s, 'waiting', hostPath));
        // Its first probe is a second away.
        expect(await s.port.awaitHealth(waiting.containerId, 100)).toBe('timeout');
        const plain = await s.port.run(contractRunSpec(s, 'nocheck'));
        expect(await s.port.awaitHealth(plain.containerId, 30_000)).toBe('none');
        expect(await s.port.inspectContainer(plain.containerId)).toMatchObject({ running: true, health: 'none' });
        await s.port.stop(plain.containerId, 1);
        expect(await s.port.awaitHealth(plain.containerId, 30_000)).toBe('gone');
      }),
    ),
  );
}

/** A subject whose port can replace in place (a cluster's rolling update), with a second local image. */
export interface ReplacingEngineSubject extends DockerEngineSubject {
  port: DockerEngine;
  /** Local too, other than `localImage`. */
  otherImage: string;
}

export function describeReplaceContract(name: string, make: () => Promise<ReplacingEngineSubject>): void {
  describe(`DockerEngine.replace contract: ${name}`, () => {
    const withSubject = subjectRunner(make);
    const spec = (s: ReplacingEngineSubject, image: string): RunSpec =>
      contractRunSpec(s, 'swap', {
        image,
        labels: { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'swap', 'com.galaxy.engine_image_ref': image, ...s.extraLabels },
      });

    it(
      'declares that it replaces in place',
      withSubject((s) => {
        expect(s.port.capabilities).toEqual({ replaceInPlace: true });
        return Promise.resolve();
      }),
    );

    it(
      'puts a new engine in the place of the running one, under its name: the one the name and the labels then show',
      withSubject(async (s) => {
        const before = await s.port.run(spec(s, s.localImage));
        const after = await s.port.replace(before.containerId, spec(s, s.otherImage));
        expect(after.containerId).not.toBe(before.containerId);
        expect(after.effective).toEqual({ cpuQuota: 0.5, memoryBytes: 64 * 1024 * 1024, pidsLimit: 64 });
        expect(await s.port.inspectContainer(`${s.prefix}-swap`)).toMatchObject({
          id: after.containerId,
          running: true,
          labels: { 'com.galaxy.engine_image_ref': s.otherImage },
        });
        const listed = await s.port.listContainers({ 'com.galaxy.game_id': 'swap', ...s.extraLabels });
        expect(listed.map((c) => [c.id, c.running])).toEqual([[after.containerId, true]]);
      }),
    );

    it(
      'a new engine that cannot run leaves the previous one running under the name, and throws',
      withSubject(async (s) => {
        const before = await s.port.run(spec(s, s.localImage));
        await expect(s.port.replace(before.containerId, spec(s, s.remoteImage))).rejects.toThrow(/rolled back/);
        expect(await s.port.inspectContainer(`${s.prefix}-swap`)).toMatchObject({ running: true, labels: { 'com.galaxy.engine_image_ref': s.localImage } });
      }),
    );

    it(
      'refuses to replace a container that does not run',
      withSubject(async (s) => {
        await expect(s.port.replace(`${s.prefix}-none`, spec(s, s.otherImage))).rejects.toThrow();
        expect(await s.port.inspectContainer(`${s.prefix}-swap`)).toBeNull();
      }),
    );
  });
}
