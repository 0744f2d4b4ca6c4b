/**
 * A pull slower than the lease TTL (a Docker endpoint that streams pull
 * progress for 10 s; lease TTL 3 s), with a stop accepted during it: the
 * start's lease holds through the pull (renewed), the stop runs after the
 * start, and the game ends stopped — never a stop that found nothing while
 * the start went on to leave the game running.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SlowPullDaemon } from '../support/slow-pull-daemon.js';
import { slowPullDaemon } from '../support/slow-pull-daemon.js';
import type { FaultSystem } from './support.js';
import { faultSystem, until } from './support.js';

const PULL_MS = 10_000;
const TTL_MS = 3_000;

let system: FaultSystem | undefined;
let daemon: SlowPullDaemon | undefined;
afterAll(async () => {
  await system?.cleanup();
  await daemon?.close();
});

describe('a pull slower than the lease TTL', () => {
  it('keeps its lease, and a stop accepted during it runs after it: the game ends stopped', { timeout: 120_000 }, async () => {
    daemon = await slowPullDaemon({ pullMs: PULL_MS });
    system = await faultSystem({
      env: { RTMANAGER_DOCKER_HOST: daemon.host, RTMANAGER_DOCKER_PULL_POLICY: 'always', RTMANAGER_GAME_LEASE_TTL_MS: String(TTL_MS) },
    });
    const s = system;
    s.start('all');
    await s.waitReady();
    const gameId = s.gameId('slow');
    const lease = `rtmanager:lease:${gameId}`;

    expect((await s.post(`/runtimes/${gameId}/start`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(202);
    await until(
      () => daemon!.pulls(),
      (n) => n >= 1,
      30_000,
      'pull begun',
    );
    const pullBegan = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await s.post(`/runtimes/${gameId}/stop`)).status).toBe(202);

    // Two TTLs into the pull the start still holds the lease: it has been renewed.
    await new Promise((r) => setTimeout(r, Math.max(0, pullBegan + 2 * TTL_MS - Date.now())));
    expect(await s.redis.exists(lease)).toBe(1);

    await until(
      async () => (await s.operations.listByGame(gameId, 10)).map((e) => `${e.opKind}:${e.outcome}:${e.errorCode}`),
      (rows) => rows.includes('stop:success:'),
      60_000,
      `stop done\n${s.output()}`,
    );
    const audit = (await s.operations.listByGame(gameId, 10)).reverse();
    expect(audit.map((e) => `${e.opKind}:${e.outcome}:${e.errorCode}`)).toEqual(['start:success:', 'stop:success:']);
    // Never interleaved: the stop began after the start had finished.
    expect(audit[1]!.startedAt.getTime()).toBeGreaterThanOrEqual(audit[0]!.finishedAt.getTime());
    expect(audit[0]!.finishedAt.getTime() - pullBegan).toBeGreaterThanOrEqual(PULL_MS - 1_000);
    expect(await s.records.get(gameId)).toMatchObject({ status: 'stopped', currentContainerId: null });
    expect((await s.containersOf(gameId)).filter((c) => c.Names[0] === `/galaxy-game-${gameId}`)).toEqual([]);
    // The stop releases the lease after it wrote its audit row and published its event: awaited, not raced.
    expect(
      await until(
        () => s.redis.exists(lease),
        (n) => n === 0,
        10_000,
        'lease released after the stop',
      ),
    ).toBe(0);
  });
});
