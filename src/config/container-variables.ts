/**
 * What every engine container is given and denied: limits (an image's labels
 * may ask within the ceilings; `rules.ts` keeps each default under its
 * ceiling), contract §12's hardening, and the game's state directory.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { mapped, optional, withDefault } from './declare.js';
import { absolutePath, bool, capabilities, cpuQuota, dockerSizeBytes, envName, int, labels, memoryLimit, nonEmpty, octalMode, uidGid } from './parsers.js';

export const CONTAINER = {
  /** CPUs as a positive decimal, when an image has no parseable `com.galaxy.cpu_quota` */
  defaultCpuQuota: withDefault('RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA', cpuQuota, '1.0', 'contract2'),
  /** Docker size, when an image has no parseable `com.galaxy.memory` */
  defaultMemory: withDefault('RTMANAGER_CONTAINER_DEFAULT_MEMORY', memoryLimit, '512m', 'contract2'),
  /** 1–4194304, when an image has no parseable `com.galaxy.pids_limit` */
  defaultPidsLimit: withDefault('RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT', int(1, 4_194_304), '256', 'contract2'),
  // Ceilings of what an image's labels may ask for.
  /**
   * CPUs an image's `com.galaxy.cpu_quota` may ask for (Docker itself refuses more CPUs than the host has)
   * @default the CPU count of the manager's host (`os.availableParallelism()`)
   */
  maxCpuQuota: withDefault('RTMANAGER_CONTAINER_MAX_CPU_QUOTA', cpuQuota, String(availableParallelism()), 'contract11'),
  /** memory an image's `com.galaxy.memory` may ask for (Docker size) */
  maxMemory: withDefault('RTMANAGER_CONTAINER_MAX_MEMORY', memoryLimit, '8g', 'contract11'),
  /** processes an image's `com.galaxy.pids_limit` may ask for, 1–4194304 */
  maxPidsLimit: withDefault('RTMANAGER_CONTAINER_MAX_PIDS_LIMIT', int(1, 4_194_304), '4096', 'contract11'),
  // Contract §12: what every engine container is denied unless configured otherwise.
  /** comma list of Linux capabilities taken from every engine (`ALL`, or names such as `NET_RAW`, any case, `CAP_` optional); an unknown name stops boot */
  capDrop: withDefault('RTMANAGER_CONTAINER_CAP_DROP', capabilities, 'ALL', 'engineContainers'),
  /** comma list given back after the drop, e.g. `NET_BIND_SERVICE` */
  capAdd: withDefault('RTMANAGER_CONTAINER_CAP_ADD', capabilities, '', 'engineContainers'),
  /** the image's files cannot be written; `/tmp` is then a `tmpfs` (`rw,nosuid,nodev`) */
  readOnlyRootfs: withDefault('RTMANAGER_CONTAINER_READ_ONLY_ROOTFS', bool, 'true', 'engineContainers'),
  /** Docker size of that `/tmp`; what is written there counts against the engine's memory limit */
  tmpfsSizeBytes: withDefault('RTMANAGER_CONTAINER_TMPFS_SIZE', dockerSizeBytes, '64m', 'engineContainers'),
  /** `uid:gid`; null: the image's own user. */
  user: mapped(
    /**
     * `uid:gid`, two numbers (a `FROM scratch` image has no `/etc/passwd`); set `RTMANAGER_GAME_STATE_OWNER_UID` / `_GID` to the same ids so the engine
     * can write its state directory
     * @default empty (the image's user)
     */
    optional('RTMANAGER_CONTAINER_USER', uidGid, 'engineContainers'),
    (user) => user ?? null,
  ),
  /** absolute path of the state directory inside the container */
  engineStateMountPath: withDefault('RTMANAGER_ENGINE_STATE_MOUNT_PATH', absolutePath, '/var/lib/galaxy/engine', 'contract2'),
  /** primary env var carrying that path; `STORAGE_PATH` is always set too */
  engineStateEnvName: withDefault('RTMANAGER_ENGINE_STATE_ENV_NAME', envName, 'GALAXY_ENGINE_STATE_DIR', 'contract2'),
  /** port engines listen on, for the engine endpoint `http://galaxy-game-{game_id}:{port}` */
  enginePort: withDefault('RTMANAGER_ENGINE_PORT', int(1, 65535), '8080', 'contract2'),
  gameStateRoot: mapped(
    /** host directory holding one sub-directory per game; on a swarm the same shared directory on every node */
    withDefault('RTMANAGER_GAME_STATE_ROOT', nonEmpty, './var/game-state', 'contract2'),
    (root) => path.resolve(root),
  ),
  /** octal mode of a game's state directory */
  gameStateDirMode: withDefault('RTMANAGER_GAME_STATE_DIR_MODE', octalMode, '0750', 'contract2'),
  gameStateOwnerUid: mapped(
    /**
     * owner of a game's state directory, 0–4294967294; set it to `RTMANAGER_CONTAINER_USER`'s uid so the engine can write it
     * @default the process's own
     */
    optional('RTMANAGER_GAME_STATE_OWNER_UID', int(0, 4_294_967_294), 'contract2'),
    (uid) => uid ?? process.getuid?.() ?? 0,
  ),
  gameStateOwnerGid: mapped(
    /**
     * group of a game's state directory, 0–4294967294; set it to `RTMANAGER_CONTAINER_USER`'s gid
     * @default the process's own
     */
    optional('RTMANAGER_GAME_STATE_OWNER_GID', int(0, 4_294_967_294), 'contract2'),
    (gid) => gid ?? process.getgid?.() ?? 0,
  ),
  /** 0–600; seconds a stopping engine is given before it is killed, unless its image's `com.galaxy.stop_timeout` says; set on each engine when it is created (on a swarm, its service's stop grace period) */
  stopTimeoutSeconds: withDefault('RTMANAGER_STOP_TIMEOUT_SECONDS', int(0, 600), '10', 'ours'),
  /**
   * `k=v,…` added to every engine container; the reconciler and the events follower then look only at containers carrying them (several managers can
   * share one daemon; the tests mark theirs)
   */
  extraLabels: withDefault('RTMANAGER_CONTAINER_EXTRA_LABELS', labels, '', 'ours'),
};
