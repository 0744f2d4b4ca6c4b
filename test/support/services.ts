/** Where the test services are (scripts/services.sh writes var/services.env with these). */
export function testRedisUrl(): string {
  return process.env.RTM_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379';
}

export function testPgUrl(): string {
  return process.env.RTM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:15432/postgres';
}

/** Every container and network a test creates carries this, so a sweep finds leftovers. */
export const TEST_LABEL = { 'com.galaxy.test': '1' } as const;
