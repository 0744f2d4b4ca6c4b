/**
 * Fencing numbers never go back, even when Redis does (contract §14): a
 * restore of an older copy of a game's keys, a FLUSHALL, a restart of a Redis
 * without persistence, a Redis clock behind the one that handed out the
 * stored fence. After each, a start and a stop of the game succeed on real
 * Redis, Postgres and Docker. Flushes and crashes happen on a private Redis,
 * never on the shared one.
 */
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { LifecycleResult } from '../../src/domain/lifecycle.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { RedisGameLeases } from '../../src/infra/redis/game-leases.js';
import { runtimeRecords } from '../../src/infra/db/schema.js';
import { privateRedis } from '../faults/support.js';
import { expectNoContainers } from '../support/backend.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';

const IMAGE = 'galaxy-test-engine:labelled';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function world(): Promise<RealWorld> {
  const w = await realWorld();
  cleanups.push(() => w.cleanup());
  return w;
}

/** The world's leases on a Redis of the test's own, which it may flush and crash. */
async function onPrivateRedis(w: RealWorld) {
  const server = await privateRedis({ persistence: 'none' });
  cleanups.push(() => server.stop());
  const redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  const leases = new RedisGameLeases({ redis, prefix: 'rtmanager:' });
  w.deps.leases = leases;
  return { server, redis, leases };
}

const who = { opSource: 'gm_rest' as const, sourceRef: 'it' };
const start = (w: RealWorld, gameId: string) => startRuntime(w.deps, { gameId, imageRef: IMAGE, ...who });
const stop = (w: RealWorld, gameId: string) => stopRuntime(w.deps, { gameId, ...who });

/** The fence stored with the game's record. */
async function storedFence(w: RealWorld, gameId: string): Promise<number> {
  const rows = await w.database.db.select({ fence: runtimeRecords.leaseFence }).from(runtimeRecords).where(eq(runtimeRecords.gameId, gameId));
  expect(rows).toHaveLength(1);
  return rows[0]!.fence;
}

/** A start then a stop, both successful, leaving the game stopped with no container. */
async function startAndStopSucceed(w: RealWorld, gameId: string): Promise<void> {
  const started = await start(w, gameId);
  expect(started, started.errorMessage).toMatchObject({ outcome: 'success', errorCode: null, record: { status: 'running' } });
  expect((await w.containersOf(gameId)).map((c) => c.Id)).toEqual([started.record!.currentContainerId]);
  const stopped = await stop(w, gameId);
  expect(stopped, stopped.errorMessage).toMatchObject({ outcome: 'success', errorCode: null, record: { status: 'stopped' } });
  expect((await w.records.get(gameId))?.status).toBe('stopped');
  await expectNoContainers(() => w.containersOf(gameId));
}

/** A running game whose Redis then loses everything (`loss`): its stop, and a start and a stop after it, succeed. */
async function lostEverything(w: RealWorld, redis: Redis, gameId: string, loss: () => Promise<void>): Promise<void> {
  const before = await storedFence(w, gameId);
  await loss();
  expect(await redis.dbsize()).toBe(0);
  const stopped = await stop(w, gameId);
  expect(stopped, stopped.errorMessage).toMatchObject({ outcome: 'success', record: { status: 'stopped' } });
  expect(await storedFence(w, gameId)).toBeGreaterThan(before);
  await startAndStopSucceed(w, gameId);
}

const leaseLost = (result: LifecycleResult) => expect(result).toMatchObject({ outcome: 'failure', errorCode: 'conflict', retryable: true });

describe('a game whose Redis went back in time is never blocked', () => {
  it('an older copy of the fence key restored (DUMP … RESTORE REPLACE): a start and a stop succeed', async () => {
    const w = await world();
    const gameId = w.gameId('restore');
    const leases = w.deps.leases as RedisGameLeases;
    const fenceKey = leases.fenceKey(gameId);
    // The snapshot: taken after one acquisition.
    expect(await leases.tryAcquire(gameId, 'snapshot', 5_000)).toEqual(expect.any(Number));
    expect(await leases.release(gameId, 'snapshot')).toBe(true);
    const snapshot = await w.redis.dumpBuffer(fenceKey);
    expect(snapshot).not.toBeNull();
    const snapshotFence = Number(await w.redis.get(fenceKey));

    // Life goes on: more holders, and a start whose record carries a later fence.
    for (const token of ['a', 'b', 'c']) {
      expect(await leases.tryAcquire(gameId, token, 5_000)).toEqual(expect.any(Number));
      expect(await leases.release(gameId, token)).toBe(true);
    }
    expect((await start(w, gameId)).outcome).toBe('success');
    expect(await storedFence(w, gameId)).toBeGreaterThan(snapshotFence + 3);

    // The restore: the key is there, but older than every fence handed out since.
    await w.redis.restore(fenceKey, 0, snapshot, 'REPLACE');
    expect(Number(await w.redis.get(fenceKey))).toBe(snapshotFence);

    const stopped = await stop(w, gameId);
    expect(stopped, stopped.errorMessage).toMatchObject({ outcome: 'success', record: { status: 'stopped' } });
    await startAndStopSucceed(w, gameId);
  });

  it('a FLUSHALL of its Redis: a start and a stop succeed', async () => {
    const w = await world();
    const { redis } = await onPrivateRedis(w);
    const gameId = w.gameId('flush');
    await startAndStopSucceed(w, gameId);
    expect((await start(w, gameId)).outcome).toBe('success');
    await lostEverything(w, redis, gameId, async () => expect(await redis.flushall()).toBe('OK'));
  });

  it('its Redis, without persistence, killed and restarted: a start and a stop succeed', async () => {
    const w = await world();
    const { server, redis } = await onPrivateRedis(w);
    const gameId = w.gameId('crash');
    expect((await start(w, gameId)).outcome).toBe('success');
    await lostEverything(w, redis, gameId, async () => {
      server.crash();
      await server.start();
    });
  });

  it('a stored fence from a Redis whose clock ran ahead of this one: blocked for one attempt only', async () => {
    const w = await world();
    const gameId = w.gameId('clock');
    const started = await start(w, gameId);
    expect(started.outcome).toBe('success');
    // A failover to a replica whose clock is ten minutes behind the old primary's, which handed out this fence.
    const [seconds] = await w.redis.time();
    const ahead = (Number(seconds) + 600) * 1_000_000;
    expect(await w.records.upsert(started.record!, ahead)).toBe(true);

    // The first stop carries a fence below it and is refused (a retryable conflict); the one after gets past it.
    leaseLost(await stop(w, gameId));
    const stopped = await stop(w, gameId);
    expect(stopped, stopped.errorMessage).toMatchObject({ outcome: 'success', record: { status: 'stopped' } });
    expect(await storedFence(w, gameId)).toBeGreaterThan(ahead);
    await startAndStopSucceed(w, gameId);

    // The same for a start, whose refused attempt also removes the container it made.
    expect(await w.records.upsert((await w.records.get(gameId))!, ahead + 600_000_000)).toBe(true);
    leaseLost(await start(w, gameId));
    await expectNoContainers(() => w.containersOf(gameId));
    await startAndStopSucceed(w, gameId);
  });
});
