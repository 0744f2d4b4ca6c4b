/**
 * The daemon's images, as both engines need them: registry credentials, a
 * pull per policy with its progress, pulls of one ref shared by every caller
 * meanwhile, and inspections kept briefly.
 */
import type Dockerode from 'dockerode';
import { pullFailure, registryUnreachable } from '../../domain/image-pull.js';
import type { PullPolicy } from '../../domain/model.js';
import type { ImageInfo, PullOptions, PullOutcome, PullProgress } from '../../domain/engine-port.js';
import type { DaemonClient } from './daemon-client.js';
import { daemonError, messageOf, statusOf } from './daemon-errors.js';
import { pullFailureOf, pullWithDeadlines } from './pull.js';
import { PullTally } from './pull-progress.js';
import type { RegistryAuth } from './registry-auth.js';
import { DockerConfigCredentials } from './registry-auth.js';
import { declaresHealthcheck } from './health.js';

export interface ImageStoreOptions {
  /** A Docker CLI config.json whose `auths` give registry credentials (RTMANAGER_DOCKER_CONFIG); none: anonymous pulls. */
  dockerConfigPath?: string;
  imageCacheMs?: number;
  /** RTMANAGER_DOCKER_PULL_POLICY: whether an image found missing at create may be pulled again (not under `never`). */
  pullPolicy?: PullPolicy;
  now?: () => number;
}

/** One pull under way, shared by every caller that asked for its ref meanwhile. */
interface SharedPull {
  done: Promise<void>;
  listeners: Set<(progress: PullProgress) => void>;
  latest: PullProgress | null;
}

/**
 * How long an image's inspect is believed: a burst of starts asks the daemon once.
 * An image removed within it still reads as present: a start then skips its
 * pull, and its create finds no image — the engine then forgets it and pulls
 * once per policy (`pullAfterMissing`) before it creates again.
 */
const DEFAULT_IMAGE_CACHE_MS = 2_000;

export class ImageStore {
  /**
   * Image inspections, kept briefly: a start asks twice (is it local? its
   * labels?) and a burst of starts asks for the same image hundreds of times,
   * each a round trip the daemon serialises with the creates. A pull forgets
   * the image; only found images are kept, so a missing one is asked again.
   */
  private readonly images = new Map<string, { at: number; info: Promise<Dockerode.ImageInspectInfo> }>();
  private readonly imageTtlMs: number;
  private readonly now: () => number;
  /**
   * Pulls under way by ref: a burst of starts of one image that is not local
   * downloads it once. A pull leaves the map the moment it settles, so the
   * next caller starts a new one (a failure is not remembered).
   */
  private readonly pulls = new Map<string, SharedPull>();
  private readonly credentials: DockerConfigCredentials | undefined;
  private readonly pullPolicy: PullPolicy;

  constructor(
    private readonly client: DaemonClient,
    opts: ImageStoreOptions = {},
  ) {
    this.imageTtlMs = opts.imageCacheMs ?? DEFAULT_IMAGE_CACHE_MS;
    this.now = opts.now ?? Date.now;
    this.pullPolicy = opts.pullPolicy ?? 'if_not_present';
    this.credentials = opts.dockerConfigPath ? new DockerConfigCredentials(opts.dockerConfigPath) : undefined;
  }

  /** The credentials for `ref`'s registry, as the daemon takes them; undefined: anonymous. */
  async registryAuth(ref: string): Promise<RegistryAuth | undefined> {
    return this.credentials?.forImage(ref);
  }

  /** The DockerEngine port's pullImage. */
  async pull(ref: string, policy: PullPolicy, options: PullOptions = {}): Promise<PullOutcome> {
    if (policy !== 'always' && (await this.isLocal(ref))) return { kind: 'present' };
    if (policy === 'never') throw pullFailure('policy', ref);
    try {
      await this.sharedPull(ref, options.onProgress);
      return { kind: 'pulled' };
    } catch (error) {
      const failed = pullFailureOf(error, ref);
      // The pull's failure is the news: a daemon that cannot say whether the image is local does not replace it.
      if (policy === 'always' && options.fallbackToLocal && registryUnreachable(failed.reason) && (await this.isLocal(ref).catch(() => false))) {
        return { kind: 'local_fallback', reason: failed.message };
      }
      throw failed;
    }
  }

  /** The DockerEngine port's inspectImage. */
  async inspect(ref: string): Promise<ImageInfo> {
    try {
      const info = await this.inspectCached(ref);
      // dockerode's types leave out the image's STOPSIGNAL; the daemon sends it.
      const config = info.Config as (Dockerode.ImageInspectInfo['Config'] & { StopSignal?: string }) | undefined;
      return {
        id: info.Id,
        repoDigests: info.RepoDigests ?? [],
        labels: config?.Labels ?? {},
        stopSignal: config?.StopSignal || null,
        healthcheck: declaresHealthcheck(config),
      };
    } catch (error) {
      throw daemonError(error);
    }
  }

  /**
   * A create answered "No such image" for `ref`, which this store may have
   * called present from an inspect it kept (removed since, by a prune or an
   * operator): it is forgotten, and pulled once unless the policy is `never`.
   * True when it was pulled: the create may be tried again. A failed pull
   * throws its image_pull_failed as the start's own pull would.
   */
  async pullAfterMissing(ref: string): Promise<boolean> {
    this.images.delete(ref);
    if (this.pullPolicy === 'never') return false;
    try {
      await this.sharedPull(ref);
      return true;
    } catch (error) {
      throw pullFailureOf(error, ref);
    }
  }

  /** Joins the pull of `ref` under way, or starts one; each caller hears the shared progress. */
  private async sharedPull(ref: string, onProgress?: (progress: PullProgress) => void): Promise<void> {
    let pull = this.pulls.get(ref);
    if (!pull) {
      const started: SharedPull = { done: Promise.resolve(), listeners: new Set(), latest: null };
      started.done = this.runPull(ref, started);
      this.pulls.set(ref, started);
      pull = started;
    }
    if (onProgress) {
      pull.listeners.add(onProgress);
      if (pull.latest) onProgress(pull.latest);
    }
    try {
      await pull.done;
    } finally {
      if (onProgress) pull.listeners.delete(onProgress);
    }
  }

  private async runPull(ref: string, pull: SharedPull): Promise<void> {
    const tally = new PullTally();
    this.images.delete(ref);
    try {
      await this.client.timed('pull', async () => {
        const auth = await this.credentials?.forImage(ref).catch((error: unknown) => {
          throw pullFailure('other', ref, messageOf(error));
        });
        await pullWithDeadlines(this.client.docker, ref, this.client.deadlines, {
          auth,
          onEvent: (event) => {
            if (tally.add(event)) tell(pull, tally.snapshot());
          },
        });
      });
    } finally {
      // Before the waiters hear the outcome: whoever asks after it starts afresh.
      if (this.pulls.get(ref) === pull) this.pulls.delete(ref);
      this.images.delete(ref);
    }
  }

  private inspectCached(ref: string): Promise<Dockerode.ImageInspectInfo> {
    const now = this.now();
    const hit = this.images.get(ref);
    if (hit && now - hit.at < this.imageTtlMs) return hit.info;
    // Concurrent askers share one request; a failure is not kept.
    const info = this.client.inspect<Dockerode.ImageInspectInfo>('image_inspect', `/images/${ref}/json`, 'no such image');
    this.images.set(ref, { at: now, info });
    info.catch(() => {
      if (this.images.get(ref)?.info === info) this.images.delete(ref);
    });
    if (this.images.size > 256) this.images.delete(this.images.keys().next().value!);
    return info;
  }

  private async isLocal(ref: string): Promise<boolean> {
    try {
      await this.inspectCached(ref);
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw daemonError(error);
    }
  }
}

/** Every caller of a shared pull hears its latest progress. */
function tell(pull: SharedPull, progress: PullProgress): void {
  pull.latest = progress;
  for (const listener of pull.listeners) {
    try {
      listener(progress);
    } catch {
      // A listener is someone watching; it cannot fail the pull for the others.
    }
  }
}
