/**
 * Where the engines run: the backend, the Docker daemon (and the Docker CLI's
 * own variables, read as it reads them: contract §12), images and pulls.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { derived, optional, withDefault } from './declare.js';
import { bool, dockerHost, int, keyValues, ms, nonEmpty, oneOf, registryHosts, text } from './parsers.js';

/** `docker`: one container per game on one engine; `swarm`: one service per game on a Docker Swarm, through a manager */
export const BACKEND = withDefault('RTMANAGER_RUNTIME_BACKEND', oneOf(['docker', 'swarm'], 'must be docker or swarm'), 'docker', 'swarm');

// Ours (issue 13): how long a Swarm task may wait for a node before the start fails, whether it reserves its limits, how often tasks are read.
export const SWARM = {
  /**
   * a task no node takes for this long (no node with the resources, a constraint nobody meets) fails the start with `container_start_failed` and Swarm's
   * reason, and the service is removed
   */
  placementTimeoutMs: withDefault('RTMANAGER_SWARM_PLACEMENT_TIMEOUT_MS', ms, '30000', 'swarm'),
  /**
   * the CPU and memory limits are also reservations, so Swarm places a game only where they fit (Swarm schedules by reservations alone). `false` lets
   * nodes overcommit as one engine does
   */
  reserveLimits: withDefault('RTMANAGER_SWARM_RESERVE_LIMITS', bool, 'true', 'swarm'),
  /**
   * 100 ms – 60 s; Swarm emits no event when a task fails or its node goes down, so the worker reads our services' tasks this often and hands a change
   * to the reconciler
   */
  pollMs: withDefault('RTMANAGER_SWARM_POLL_MS', int(100, 60_000), '1000', 'swarm'),
};

/**
 * `unix:///path` or `tcp://host:port` (TLS: see "Docker over TLS"); on a swarm, a manager
 * @default `DOCKER_HOST`, else `unix:///var/run/docker.sock`
 */
export const RTMANAGER_DOCKER_HOST = optional('RTMANAGER_DOCKER_HOST', dockerHost, 'contract2');

// Read only when RTMANAGER_DOCKER_HOST is unset (rules.ts), and validated like it.
/** read only when `RTMANAGER_DOCKER_HOST` is unset, and validated like it */
export const DOCKER_HOST = optional('DOCKER_HOST', dockerHost, 'dockerTls');

// Any non-empty value turns TLS on, "0" included.
/**
 * any non-empty value (even `0`, as for the Docker CLI): speak TLS to a `tcp://` host, check its certificate against `ca.pem`, present `cert.pem` /
 * `key.pem` if both exist; default port 2376
 * @default unset
 */
const DOCKER_TLS_VERIFY = optional('DOCKER_TLS_VERIFY', text, 'dockerTls');

/**
 * TLS without checking the daemon's certificate (the CLI's `--tls`); prefer `DOCKER_TLS_VERIFY`. Not in the contract, which names only
 * `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH`
 * @default unset
 */
const DOCKER_TLS = optional('DOCKER_TLS', text, 'dockerTls');

/**
 * directory of `ca.pem`, `cert.pem`, `key.pem`, read once at boot (a missing `ca.pem` under `DOCKER_TLS_VERIFY` stops boot)
 * @default `$DOCKER_CONFIG`, else `~/.docker`
 */
const DOCKER_CERT_PATH = optional('DOCKER_CERT_PATH', nonEmpty, 'dockerTls');

// Where the CLI keeps its files, the certificates' default directory too.
/** the Docker CLI's config directory: its `config.json` when `RTMANAGER_DOCKER_CONFIG` is unset, and the TLS certificates' default directory */
const DOCKER_CONFIG = optional('DOCKER_CONFIG', nonEmpty, 'contract11');

const host = derived({ ours: RTMANAGER_DOCKER_HOST, fallback: DOCKER_HOST }, ({ ours, fallback }) => ours ?? fallback ?? 'unix:///var/run/docker.sock');

/**
 * The Docker CLI's rules: DOCKER_TLS_VERIFY turns TLS on and checks the
 * daemon's certificate against `ca.pem`; DOCKER_TLS alone turns it on
 * without that check; `cert.pem` / `key.pem`, when present, are presented to
 * the daemon. The files live in DOCKER_CERT_PATH, else the CLI's own
 * directory (DOCKER_CONFIG, else ~/.docker). A unix socket ignores all of it.
 */
const tls = derived(
  { ours: RTMANAGER_DOCKER_HOST, fallback: DOCKER_HOST, verify: DOCKER_TLS_VERIFY, tls: DOCKER_TLS, certPath: DOCKER_CERT_PATH, cliDir: DOCKER_CONFIG },
  (v): { verify: boolean; certPath: string } | null => {
    const daemon = v.ours ?? v.fallback;
    if (!daemon?.startsWith('tcp://') || (v.verify === undefined && v.tls === undefined)) return null;
    return { verify: v.verify !== undefined, certPath: path.resolve(v.certPath ?? v.cliDir ?? path.join(homedir(), '.docker')) };
  },
);

const configPath = derived(
  {
    /**
     * a Docker CLI `config.json` whose `auths` give registry credentials; a missing file means anonymous pulls. Looked at before every pull and read
     * again when it changed; never logged. On a swarm its credentials travel with the service
     * @default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
     */
    file: optional('RTMANAGER_DOCKER_CONFIG', nonEmpty, 'contract11'),
    cliDir: DOCKER_CONFIG,
  },
  ({ file, cliDir }) => path.resolve(file ?? path.join(cliDir ?? path.join(homedir(), '.docker'), 'config.json')),
);

export const DOCKER = {
  host,
  /** TLS to a tcp:// daemon, as the Docker CLI would speak it; null: plain HTTP or a unix socket. */
  tls,
  /** the network engines join; it must exist (missing → `start_config_invalid`); on a swarm an overlay network */
  network: withDefault('RTMANAGER_DOCKER_NETWORK', nonEmpty, 'galaxy-engines', 'contract2'),
  /** log driver of every engine container */
  logDriver: withDefault('RTMANAGER_DOCKER_LOG_DRIVER', nonEmpty, 'json-file', 'contract2'),
  // Raw `k=v,…`: the domain's settings carry it as written.
  /** its options, `k=v,k2=v2` */
  logOpts: withDefault('RTMANAGER_DOCKER_LOG_OPTS', keyValues, 'max-size=10m,max-file=3', 'contract2'),
  /** `always` \| `if_not_present` \| `never` ([operations.md](operations.md#what-a-pull-does-and-tells)) */
  pullPolicy: withDefault(
    'RTMANAGER_DOCKER_PULL_POLICY',
    oneOf(['always', 'if_not_present', 'never'], 'must be always, if_not_present or never'),
    'if_not_present',
    'contract2',
  ),
  /**
   * comma-separated registry hosts (`host` or `host:port`; `docker.io` for Docker Hub, which `index.docker.io` and `registry-1.docker.io` also name;
   * compared case-blind). The registry of a ref is found as Docker does: its first path component if that has a `.` or `:` or is `localhost`, else
   * `docker.io`. Another registry → `start_config_invalid` at `validate_image_ref`, before any pull (a patch is refused before it stops the game),
   * naming the registry and the list
   * @default empty = any
   */
  allowedRegistries: withDefault('RTMANAGER_ALLOWED_REGISTRIES', registryHosts, '', 'contract11'),
  configPath,
  /**
   * under `always`, a registry that cannot be reached (connection refused, no such host, timeout, 5xx) lets the start go on with the local copy, if
   * there is one; the audit row of that success says so and a warn line is logged. A refusal (credentials, a missing tag) never falls back
   */
  pullFallbackToLocal: withDefault('RTMANAGER_PULL_FALLBACK_TO_LOCAL', bool, 'true', 'contract11'),
  /** deadline of every Docker call except a pull; a stop adds the engine's own grace */
  timeoutMs: withDefault('RTMANAGER_DOCKER_TIMEOUT_MS', ms, '30000', 'contract10'),
  /**
   * 1–1000; container creates (create, start, read back) one worker process has at the daemon at once; the others wait their turn in the process,
   * outside the Docker deadline. A daemon creates containers one after another: a burst sent to it whole waits there past every deadline, and each late
   * create costs the re-run a removal and a create more (on one engine; a swarm's service creates are not bounded)
   */
  runConcurrency: withDefault('RTMANAGER_DOCKER_RUN_CONCURRENCY', int(1, 1_000), '8', 'ours'),
  /** deadline of a whole pull */
  pullTimeoutMs: withDefault('RTMANAGER_PULL_TIMEOUT_MS', ms, '900000', 'contract10'),
  /** a pull that reports no progress for this long is abandoned */
  pullInactivityMs: withDefault('RTMANAGER_PULL_INACTIVITY_MS', ms, '120000', 'contract10'),
};
