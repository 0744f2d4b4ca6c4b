/**
 * What the bench's systems run with, printed and written beside the figures:
 * every variable an operator would set differently from its default. Where a
 * system is (its database, Redis keys, network, ports, state root,
 * credentials) is its own and says nothing of how it behaves: not listed.
 */
import { readFile } from 'node:fs/promises';
import { DECLARED_VARIABLES } from '../src/config.js';

/** Where a run's system is, not how it behaves: set by the harness, not reset to a default. */
export const PLACEMENT = new Set([
  'RTMANAGER_DATABASE_URL',
  'RTMANAGER_REDIS_URL',
  'RTMANAGER_HTTP_PORT',
  'RTMANAGER_WORKER_OPS_PORT',
  'RTMANAGER_INTAKE_OPS_PORT',
  'RTMANAGER_QUEUE_PREFIX',
  'RTMANAGER_START_JOBS_STREAM',
  'RTMANAGER_HEALTH_EVENTS_STREAM',
  'RTMANAGER_NOTIFICATION_INTENTS_STREAM',
  'RTMANAGER_DOCKER_NETWORK',
  'RTMANAGER_GAME_STATE_ROOT',
  'RTMANAGER_CONTAINER_EXTRA_LABELS',
  'RTMANAGER_API_TOKEN',
  'RTMANAGER_ADMIN_USER',
  'RTMANAGER_ADMIN_PASSWORD',
  'RTMANAGER_DOCKER_CONFIG',
]);

/** The variables of `env` that differ from their operator default, placement aside. */
export function nonDefaultSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  const differ: Record<string, string> = {};
  for (const v of DECLARED_VARIABLES) {
    const value = env[v.name];
    if (!PLACEMENT.has(v.name) && value !== undefined && value !== v.fallback) differ[v.name] = value;
  }
  return differ;
}

/** One line for the bench's output: `what` runs with every variable at its default but these. */
export function describeSettings(what: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): string {
  const differ = Object.entries(nonDefaultSettings(env)).map(([k, v]) => `${k}=${v}`);
  const flags = nodeArgs.length ? `; node ${nodeArgs.join(' ')}` : '';
  return `${what}: every variable at its operator default${differ.length ? ` except ${differ.join(' ')}` : ''}${flags}`;
}

/**
 * The node flags the system is started with for `role`: its Procfile line,
 * or for `all` the run script's `exec node … dist/main.js all`. The bench
 * runs each role as an operator does.
 */
export async function procfileNodeArgs(role: 'web' | 'worker' | 'intake' | 'all'): Promise<string[]> {
  const source = role === 'all' ? await readFile('scripts/run.sh', 'utf8') : await readFile('Procfile', 'utf8');
  const line = role === 'all' ? /^exec node (.*)dist\/main\.js all$/m : new RegExp(`^${role}: node (.*)dist/main\\.js ${role}$`, 'm');
  const found = line.exec(source);
  if (!found) throw new Error(`no node command for ${role} in ${role === 'all' ? 'scripts/run.sh' : 'Procfile'}`);
  return found[1]!.split(/\s+/).filter(Boolean);
}
