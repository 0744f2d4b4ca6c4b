import type Dockerode from 'dockerode';

/** Where the test services are (scripts/services.sh writes var/services.env with these). */
export function testRedisUrl(): string {
  return process.env.RTM_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379';
}

export function testPgUrl(): string {
  return process.env.RTM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:15432/postgres';
}

/**
 * The test session: one per test command (scripts/test.sh exports it; the
 * global setup makes one for a bare vitest run). Sweeps and leak checks judge
 * only their own session, so two engineers' runs on one daemon never remove
 * each other's containers.
 */
export function testSession(): string {
  return process.env.RTM_TEST_SESSION ?? 'adhoc';
}

/** Every container and network a test creates carries this, so a sweep finds leftovers. */
export const TEST_LABEL = { 'com.galaxy.test': testSession() } as const;

/** TEST_LABEL and more, as RTMANAGER_CONTAINER_EXTRA_LABELS takes them. */
export function testLabelsEnv(more: Record<string, string> = {}): string {
  return Object.entries({ ...TEST_LABEL, ...more })
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * Force-removes containers a few at a time, retrying what the daemon refused
 * (a removal racing the container's own exit can fail once), and throws naming
 * what is still there: a teardown that swallows a failed removal is how a
 * suite that looks green leaves containers behind.
 */
export async function removeContainers(docker: Dockerode, ids: readonly string[], attempts = 4): Promise<void> {
  let pending = [...ids];
  let lastErrors: string[] = [];
  for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
    const failed: string[] = [];
    lastErrors = [];
    for (let i = 0; i < pending.length; i += 8) {
      await Promise.all(
        pending.slice(i, i + 8).map(async (id) => {
          try {
            await docker.getContainer(id).remove({ force: true });
          } catch (error) {
            const status = (error as { statusCode?: number }).statusCode;
            if (status === 404) return; // already gone: that is the goal
            failed.push(id);
            lastErrors.push(`${id.slice(0, 12)}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }),
      );
    }
    pending = failed;
    if (pending.length > 0 && attempt < attempts) await new Promise((r) => setTimeout(r, 500 * attempt));
  }
  if (pending.length > 0) throw new Error(`could not remove ${pending.length} container(s): ${lastErrors.slice(0, 5).join('; ')}`);
}

/**
 * What keeps one whole system under test apart from every other on the shared
 * services: its own database, queue prefix, streams, network, state root and
 * container labels (`com.galaxy.test_run` = `run`), and no reconciler pass
 * unless a test asks.
 */
export function isolatedSystemEnv(
  run: string,
  where: { databaseUrl: string; redisUrl?: string; port: number; network: string; stateRoot: string },
): Record<string, string> {
  return {
    RTMANAGER_DATABASE_URL: where.databaseUrl,
    RTMANAGER_REDIS_URL: where.redisUrl ?? testRedisUrl(),
    RTMANAGER_HTTP_PORT: String(where.port),
    RTMANAGER_QUEUE_PREFIX: run,
    RTMANAGER_START_JOBS_STREAM: `${run}:start_jobs`,
    RTMANAGER_HEALTH_EVENTS_STREAM: `${run}:health`,
    RTMANAGER_NOTIFICATION_INTENTS_STREAM: `${run}:intents`,
    RTMANAGER_DOCKER_NETWORK: where.network,
    RTMANAGER_GAME_STATE_ROOT: where.stateRoot,
    RTMANAGER_RECONCILE_INTERVAL_MS: '3600000',
    RTMANAGER_CONTAINER_EXTRA_LABELS: testLabelsEnv({ 'com.galaxy.test_run': run }),
  };
}
