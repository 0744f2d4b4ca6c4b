/** Redis SIGKILLed (AOF, fsync always) during enqueue load: every request answered 202 is executed. */
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from './support.js';
import { faultSystem, privateRedis, until } from './support.js';

let system: FaultSystem | undefined;
let redis: Awaited<ReturnType<typeof privateRedis>> | undefined;
afterAll(async () => {
  await system?.cleanup();
  await redis?.stop();
});

describe('Redis crash during enqueue load', () => {
  it('executes every start it answered 202', { timeout: 300_000 }, async () => {
    redis = await privateRedis();
    // Jobs that fail fast and leave an audit row: no container per request.
    system = await faultSystem({ redisUrl: redis.url, env: { RTMANAGER_DOCKER_PULL_POLICY: 'never', RTMANAGER_WORKER_CONCURRENCY: '50' } });
    const s = system;
    s.start('all');
    await s.waitReady();

    const accepted: string[] = [];
    const refused: number[] = [];
    let crashed = false;
    let sent = 0;
    const senders = Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; i < 60; i++) {
        const gameId = s.gameId(`r${lane}-${i}`);
        sent += 1;
        const res = await s.post(`/runtimes/${gameId}/start`, { image_ref: 'galaxy-test-engine:not-local' }).catch(() => null);
        if (res?.status === 202) accepted.push(gameId);
        else refused.push(res?.status ?? 0);
        if (!crashed && accepted.length >= 80) {
          crashed = true;
          redis!.crash();
          setTimeout(() => void redis!.start(), 1_500);
        }
      }
    });
    await Promise.all(senders);
    expect(crashed).toBe(true);
    expect(accepted.length).toBeGreaterThan(80);

    // Every accepted start ran: its attempt left an audit row.
    await until(
      async () => {
        let missing = 0;
        for (const gameId of accepted) if ((await s.operations.listByGame(gameId, 1, 'start')).length === 0) missing += 1;
        return missing;
      },
      (missing) => missing === 0,
      120_000,
      'every accepted start executed',
    );
    console.log(
      `redis crash: ${sent} sent, ${accepted.length} accepted (all executed), ${refused.length} refused during the outage (${[...new Set(refused)].join(', ')})`,
    );
  });
});
