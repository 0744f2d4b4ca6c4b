/**
 * Configuration: every variable of contract §2, §10, §12 (engine containers,
 * Docker TLS) and §13, and ours, validated at boot by one zod schema over the
 * environment whose output is `Config`. A bad value stops boot with exit code
 * 1 and one line per bad variable, naming it and saying why — an operator
 * fixes all of them in one go.
 *
 * Each variable is declared once, in `src/config/` (name, parser, default,
 * its line in docs/configuration.md); the tree below places each in the
 * field of `Config` it feeds. The schema, the type and the reference are read
 * from them.
 */
import { z } from 'zod';
import { CONTAINER } from './config/container-variables.js';
import { ENGINES } from './config/engine-variables.js';
import { build, variablesOf, type Shape } from './config/declare.js';
import { BACKEND, DOCKER, SWARM } from './config/docker-variables.js';
import { JOBS, LEASES, LOG_LEVEL, OPERATION_LOG, PROCESS, RECONCILE_INTERVAL, STREAMS } from './config/operation-variables.js';
import { checkCeilings, checkCredentials, withoutOverriddenFallbacks } from './config/rules.js';
import { ADMIN_WRITE_ENABLED, AUTH, HTTP, STORES } from './config/service-variables.js';
import { WINDOW } from './config/window-variables.js';

type Env = Record<string, string | undefined>;

/** The nested shape the rest of the service reads; its variables' error lines come in this order. */
const CONFIG_TREE = {
  ...STORES,
  http: HTTP,
  auth: AUTH,
  adminWriteEnabled: ADMIN_WRITE_ENABLED,
  /** `docker`: one container per game on one engine; `swarm`: one service per game on a Swarm cluster, through a manager. */
  backend: BACKEND,
  swarm: SWARM,
  docker: DOCKER,
  container: CONTAINER,
  engines: ENGINES,
  window: WINDOW,
  ...LEASES,
  streams: STREAMS,
  reconcileIntervalMs: RECONCILE_INTERVAL,
  operationLog: OPERATION_LOG,
  logLevel: LOG_LEVEL,
  jobs: JOBS,
  ...PROCESS,
};

export type Config = Shape<typeof CONFIG_TREE>;

/** Every variable's declaration, once each. */
export const DECLARED_VARIABLES = variablesOf(CONFIG_TREE);

/** Every variable this module reads. */
export const CONFIG_VARIABLES: readonly string[] = DECLARED_VARIABLES.map((v) => v.name);

const ENV = z.object(Object.fromEntries(DECLARED_VARIABLES.map((v) => [v.name, v.schema])));

export const configSchema = z
  .preprocess((env) => withoutOverriddenFallbacks(env as Env), ENV)
  // Credentials, and a default above its ceiling, are reported beside the other bad variables, not after they are fixed.
  .superRefine(checkCredentials, { when: () => true })
  .superRefine(checkCeilings, { when: () => true })
  .transform((parsed): Config => build(CONFIG_TREE, parsed));

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

export function loadConfig(env: Env = process.env): ConfigResult {
  const result = configSchema.safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  // One line per variable: its first problem is the one to fix.
  const lines = new Map<string, string>();
  for (const issue of result.error.issues) {
    const name = String(issue.path[0] ?? 'environment');
    if (!lines.has(name)) lines.set(name, `${name}: ${issue.message}`);
  }
  return { ok: false, errors: [...lines.values()] };
}

/** Boot: the configuration, or exit 1 with one line per bad variable on stderr. */
export function bootConfigOrExit(env: Env = process.env): Config {
  const result = loadConfig(env);
  if (result.ok) return result.config;
  process.stderr.write(`invalid configuration:\n${result.errors.map((e) => `  ${e}`).join('\n')}\n`);
  process.exit(1);
}
