/**
 * Contract §10 on real Redis, Postgres and Docker: operations on one game take
 * effect in the order they were accepted, across the four queues, and a busy
 * game is waited for without spending attempts, up to the wait limit.
 * A start is made slow by holding it at `run_container` until the test lets go.
 */
import type { Job } from 'bullmq';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LEASE_BUSY_MESSAGE } from '../../src/domain/errors.js';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import { createGameOrder } from '../../src/infra/redis/game-order.js';
import { orderKeys } from '../../src/infra/redis/order-keys.js';
import { leaveOrderWhenFinished } from '../../src/jobs/game-order.js';
import type { StepHook } from '../../src/jobs/lifecycle-jobs.js';
import { createLifecycleProcessor, lifecycleWorkerOptions } from '../../src/jobs/lifecycle-jobs.js';
import type { LifecycleKind } from '../../src/jobs/queues.js';
import { QUEUE_OF } from '../../src/jobs/queues.js';
import { resultFromFailure } from '../../src/jobs/result-table.js';
import { RecordingLogger } from '../fakes/support.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';
import { testRedisUrl } from '../support/services.js';
import { testQueues } from '../support/test-queues.js';

const IMAGE = 'galaxy-test-engine:labelled';
const IMAGE_V2 = 'galaxy-test-engine:labelled-v2';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Holds the first `run_container` of each game the test names until it calls `release(game)`. */
function holdAtRun() {
  const held = new Map<string, { reached: boolean; release: () => void; gate: Promise<void> }>();
  const hold = (gameId: string) => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    held.set(gameId, { reached: false, release, gate });
  };
  const hook: StepHook = async (job, step) => {
    const entry = held.get(job.id ?? '');
    if (step !== 'run_container' || !entry || entry.reached) return;
    entry.reached = true;
    await entry.gate;
  };
  return { hold, hook, reached: (gameId: string) => held.get(gameId)?.reached ?? false, release: (gameId: string) => held.get(gameId)?.release() };
}

interface Options {
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  leaseWaitMs?: number;
  stepHook?: StepHook;
  /** RTMANAGER_STREAM_DEDUP_WINDOW_MS, for the enqueuer, the order and the leases. */
  idleTtlMs?: number;
}

/** The enqueuer and one worker per lifecycle queue, wired as the worker role wires them, on a real world. */
async function system(opts: Options = {}) {
  const w: RealWorld = await realWorld(opts.idleTtlMs ? { env: { RTMANAGER_STREAM_DEDUP_WINDOW_MS: String(opts.idleTtlMs) } } : {});
  const { prefix, redis, queues, close } = testQueues();
  const mutexPrefix = `${prefix}:enqueue:`;
  const logger = new RecordingLogger();
  const idle = opts.idleTtlMs ? { idleTtlMs: opts.idleTtlMs } : {};
  const enqueuer = createEnqueuer({ queues, redis, logger, attempts: opts.attempts ?? 5, backoffMs: opts.backoffMs ?? 1_000, mutexPrefix, ...idle });
  const order = createGameOrder({ redis, bullPrefix: prefix, mutexPrefix, ...idle });
  const workers: Worker[] = [];
  cleanups.push(async () => {
    for (const worker of workers) await worker.close(true);
    await close();
    await w.cleanup();
  });
  const startWorkers = () => {
    for (const kind of Object.keys(QUEUE_OF) as LifecycleKind[]) {
      const promote = (gameId: string) => enqueuer.promote(gameId);
      const processor = createLifecycleProcessor(kind, w.deps, opts.stepHook, { order, leaseWaitMs: opts.leaseWaitMs ?? 600_000, promote });
      const worker = new Worker(QUEUE_OF[kind], processor, {
        connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }),
        prefix,
        concurrency: opts.concurrency ?? 4,
        ...lifecycleWorkerOptions(2_000),
      });
      leaveOrderWhenFinished(worker, QUEUE_OF[kind], order, (gameId) => enqueuer.promote(gameId), logger);
      workers.push(worker);
    }
  };
  const who = (sourceRef: string) => ({ opSource: 'admin_rest' as const, sourceRef });
  const job = async (kind: LifecycleKind, gameId: string) => (await queues[QUEUE_OF[kind]].getJob(gameId)) as Job;
  const stateOf = async (kind: LifecycleKind, gameId: string) => (await job(kind, gameId))?.getState();
  /** op_kind of the game's audit rows, oldest first. */
  const audit = async (gameId: string) => (await w.operations.listByGame(gameId, 50)).reverse().map((e) => `${e.opKind}:${e.outcome}`);
  /** `op_kind:outcome:error_code` of the game's audit rows, oldest first. */
  const auditCodes = async (gameId: string) =>
    (await w.operations.listByGame(gameId, 50)).reverse().map((e) => [e.opKind, e.outcome, e.errorCode].filter(Boolean).join(':'));
  /** Every Redis key that names the game, but BullMQ's own job keys (kept by their retention). */
  const gameKeys = async (gameId: string) =>
    (await redis.keys(`*${gameId}*`)).filter((key) => !Object.values(QUEUE_OF).some((q) => key.startsWith(`${prefix}:${q}:`)));
  return { w, prefix, redis, queues, enqueuer, order, startWorkers, who, job, stateOf, audit, auditCodes, gameKeys };
}

/** A system whose first start of game `name` (by `sourceRef`) is held at `run_container`, and has reached it. */
async function heldStart(name: string, sourceRef: string) {
  const holds = holdAtRun();
  const s = await system({ stepHook: holds.hook });
  const game = s.w.gameId(name);
  holds.hold(game);
  s.startWorkers();
  await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who(sourceRef) });
  await expect.poll(() => holds.reached(game), { timeout: 30_000 }).toBe(true);
  return { s, holds, game };
}

describe('one order per game', () => {
  it('a stop accepted after a start runs after it, even while the start waits behind another game (concurrency 1); the start it makes moot ends superseded', async () => {
    const holds = holdAtRun();
    const s = await system({ concurrency: 1, stepHook: holds.hook });
    const [slow, game] = [s.w.gameId('slow'), s.w.gameId('ordered')];
    holds.hold(slow);
    s.startWorkers();
    await s.enqueuer.enqueue('start', { gameId: slow, imageRef: IMAGE, ...s.who('slow') });
    await expect.poll(() => holds.reached(slow), { timeout: 30_000 }).toBe(true);
    // The only start slot is taken: this start waits in its queue, and the stop worker is free.
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('start') })).toMatchObject({ kind: 'enqueued' });
    expect(await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') })).toMatchObject({ kind: 'enqueued' });
    // The stop was picked up and put itself off: its start has not run.
    await expect.poll(() => s.stateOf('stop', game), { timeout: 10_000 }).toBe('delayed');
    expect(await s.stateOf('start', game)).toBe('waiting');
    expect(await s.audit(game)).toEqual([]);

    holds.release(slow);
    await expect.poll(() => s.stateOf('stop', game), { timeout: 60_000 }).toBe('completed');
    // Its turn came with a stop accepted after it: it ended without running (contract §14), before the stop ran.
    expect(await s.stateOf('start', game)).toBe('failed');
    expect(resultFromFailure((await s.job('start', game)).failedReason)).toMatchObject({ error_code: 'superseded', retryable: false });
    expect(await s.auditCodes(game)).toEqual(['start:failure:superseded', 'stop:success:replay_no_op']);
    expect(await s.w.records.get(game)).toBeNull();
    expect(await s.w.containersOf(game)).toEqual([]);
    expect((await s.job('stop', game)).attemptsMade).toBe(1);
    // Every place was given back.
    expect(await s.redis.zcard(orderKeys(s.prefix).ofGame(game))).toBe(0);
  });

  it('a patch behind a long start succeeds, having spent no attempt waiting (2 attempts, 50 ms backoff used to fail it at once)', async () => {
    const holds = holdAtRun();
    const s = await system({ attempts: 2, backoffMs: 50, stepHook: holds.hook });
    const game = s.w.gameId('patched');
    holds.hold(game);
    s.startWorkers();
    await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('start') });
    await expect.poll(() => holds.reached(game), { timeout: 30_000 }).toBe(true);
    await s.enqueuer.enqueue('patch', { gameId: game, imageRef: IMAGE_V2, ...s.who('patch') });
    // Held long enough for many looks, where two backed-off attempts took ~100 ms.
    await expect
      .poll(
        async () => {
          const since = (await s.job('patch', game)).data.waitingSince as number | undefined;
          return since !== undefined && Date.now() - since > 2_000;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(true);
    // Between two looks it is delayed (a look itself is a brief 'active').
    await expect.poll(() => s.stateOf('patch', game), { timeout: 10_000, interval: 20 }).toBe('delayed');
    expect((await s.job('patch', game)).attemptsMade).toBe(0);

    holds.release(game);
    await expect.poll(() => s.stateOf('patch', game), { timeout: 60_000 }).toBe('completed');
    expect((await s.job('patch', game)).attemptsMade).toBe(1);
    expect((await s.job('patch', game)).returnvalue).toMatchObject({ outcome: 'success', record: { current_image_ref: IMAGE_V2 } });
    // The patch's inner start writes its own row before the patch row.
    expect(await s.audit(game)).toEqual(['start:success', 'start:success', 'patch:success']);
  });

  it('a head whose job an operator removed does not wedge the game', async () => {
    const s = await system();
    const game = s.w.gameId('unwedged');
    await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('start') });
    await s.queues['start-runtime'].remove(game);
    await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') });
    s.startWorkers();
    await expect.poll(() => s.stateOf('stop', game), { timeout: 30_000 }).toBe('completed');
    expect((await s.job('stop', game)).returnvalue).toMatchObject({ outcome: 'success', error_code: 'replay_no_op' });
    expect(await s.redis.zcard(orderKeys(s.prefix).ofGame(game))).toBe(0);
  });
});

describe('a busy lease is waited for', () => {
  it('without spending attempts, and the job runs once the lease is free', async () => {
    const s = await system({ attempts: 2, backoffMs: 50 });
    const game = s.w.gameId('leased');
    expect(await s.w.deps.leases.tryAcquire(game, 'held-elsewhere', 60_000)).not.toBeNull();
    s.startWorkers();
    await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') });
    // Looked at the game more than once, and is waiting (delayed), not failing.
    await expect.poll(async () => Number((await s.job('stop', game)).data.waitingSince ?? 0), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => s.stateOf('stop', game), { timeout: 10_000 }).toBe('delayed');
    expect((await s.job('stop', game)).attemptsMade).toBe(0);
    // A look at a busy game writes no audit row: only what the operation finally did is audited.
    expect(await s.audit(game)).toEqual([]);
    await s.w.deps.leases.release(game, 'held-elsewhere');
    await expect.poll(() => s.stateOf('stop', game), { timeout: 10_000 }).toBe('completed');
    expect((await s.job('stop', game)).attemptsMade).toBe(1);
    expect((await s.audit(game)).at(-1)).toBe('stop:success');
  });

  it('up to the wait limit, then fails for good with conflict', async () => {
    const s = await system({ leaseWaitMs: 400 });
    const game = s.w.gameId('toolong');
    await s.w.deps.leases.tryAcquire(game, 'held-elsewhere', 60_000);
    s.startWorkers();
    await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') });
    await expect.poll(() => s.stateOf('stop', game), { timeout: 10_000 }).toBe('failed');
    const failed = await s.job('stop', game);
    expect(resultFromFailure(failed.failedReason)).toEqual({
      outcome: 'failure',
      error_code: 'conflict',
      error_message: LEASE_BUSY_MESSAGE,
      record: null,
      retryable: true,
    });
    // Failed for good on its first attempt: waiting spent none, and a retry would only wait again.
    expect(failed.attemptsMade).toBe(1);
    expect(failed.finishedOn! - (failed.data.waitingSince as number)).toBeGreaterThanOrEqual(400);
    expect(await s.redis.zcard(orderKeys(s.prefix).ofGame(game))).toBe(0);
    // Contract §14: the request that waited too long has its terminal audit row.
    expect(await s.auditCodes(game)).toEqual(['stop:failure:conflict']);
  });
});

describe('the last accepted request wins (contract §14)', () => {
  it('start (active), stop, start: the second start does not join the first; the game ends running', async () => {
    const { s, holds, game } = await heldStart('sss', 'start-1');
    expect(await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') })).toMatchObject({ kind: 'enqueued' });
    // The start job id is held by the active start: the new start waits for it, at the end of the order.
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('start-2') })).toMatchObject({ kind: 'deferred', state: 'waiting' });
    holds.release(game);
    await expect.poll(async () => (await s.job('start', game))?.data.sourceRef as string | undefined, { timeout: 60_000 }).toBe('start-2');
    await expect.poll(() => s.stateOf('start', game), { timeout: 60_000 }).toBe('completed');
    expect(await s.auditCodes(game)).toEqual(['start:success', 'stop:success', 'start:success']);
    expect(await s.w.records.get(game)).toMatchObject({ status: 'running', currentImageRef: IMAGE });
    expect(await s.w.containersOf(game)).toHaveLength(1);
    expect(await s.redis.zcard(orderKeys(s.prefix).ofGame(game))).toBe(0);
    expect(await s.redis.exists(orderKeys(s.prefix).deferred(game))).toBe(0);
  });

  it('stop (active), start, stop: the game ends stopped, every request audited once', async () => {
    const s = await system();
    const game = s.w.gameId('sts');
    s.startWorkers();
    // A running game, so the first stop has work to do.
    await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('start-0') });
    await expect.poll(() => s.stateOf('start', game), { timeout: 60_000 }).toBe('completed');
    const lease = 'held-by-test';
    // The first stop is held by a busy lease (it waits, active then delayed); the rest queue behind it.
    expect(await s.w.deps.leases.tryAcquire(game, lease, 60_000)).not.toBeNull();
    await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop-1') });
    await expect.poll(async () => (await s.job('stop', game)).data.waitingSince !== undefined, { timeout: 10_000 }).toBe(true);
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('start-2') })).toMatchObject({ kind: 'enqueued' });
    // The stop job id is held by the pending first stop, which is not the last accepted request: no join.
    expect(await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop-3') })).toMatchObject({ kind: 'deferred' });
    await s.w.deps.leases.release(game, lease);
    await expect.poll(async () => (await s.job('stop', game))?.data.sourceRef as string | undefined, { timeout: 60_000 }).toBe('stop-3');
    await expect.poll(() => s.stateOf('stop', game), { timeout: 60_000 }).toBe('completed');
    // start-2 came to its turn with stop-3 behind it: moot.
    expect(await s.auditCodes(game)).toEqual(['start:success', 'stop:success', 'start:failure:superseded', 'stop:success:replay_no_op']);
    expect(await s.w.records.get(game)).toMatchObject({ status: 'stopped' });
    expect(await s.w.containersOf(game)).toEqual([]);
  });

  it("a request that joins a pending operation gets its own terminal audit row, with that operation's outcome", async () => {
    const { s, holds, game } = await heldStart('joined', 'first');
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('second') })).toMatchObject({ kind: 'joined', carrier: 'first' });
    holds.release(game);
    await expect.poll(() => s.stateOf('start', game), { timeout: 60_000 }).toBe('completed');
    const rows = (await s.w.operations.listByGame(game, 10)).reverse();
    expect(rows.map((r) => [r.opKind, r.outcome, r.sourceRef.split(' ')[0]])).toEqual([
      ['start', 'success', 'first'],
      ['start', 'success', 'second'],
    ]);
    // Its operation has ended: a later request is a new one, not a join.
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('third') })).toMatchObject({ kind: 'enqueued' });
  });
});

describe('per-game keys (contract §14)', () => {
  it('a closed operation takes no joiner; a game keeps one closed mark however many of its operations ended', async () => {
    const { s, holds, game } = await heldStart('closed', 'first');
    // Its end decided while its job is still active: the same start again is a new operation, not a join.
    expect(await s.order.close('start-runtime', await s.job('start', game))).toEqual([]);
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('second') })).toMatchObject({ kind: 'deferred' });
    holds.release(game);
    await expect.poll(async () => (await s.job('start', game))?.data.sourceRef as string | undefined, { timeout: 60_000 }).toBe('second');
    await expect.poll(() => s.stateOf('start', game), { timeout: 60_000 }).toBe('completed');
    expect(await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') })).toMatchObject({ kind: 'enqueued' });
    await expect.poll(() => s.stateOf('stop', game), { timeout: 60_000 }).toBe('completed');
    // Three operations ended, in two queues: one key, each queue's last closed place.
    const marks = await s.redis.keys(`${s.prefix}:rtm-closed:${game}*`);
    expect(marks).toEqual([`${s.prefix}:rtm-closed:${game}`]);
    const seqOf = async (kind: LifecycleKind) => String((await s.job(kind, game)).data.orderSeq);
    expect(await s.redis.hgetall(marks[0]!)).toEqual({ 'start-runtime': await seqOf('start'), 'stop-runtime': await seqOf('stop') });
  });

  it('expire once the game has had no operation for the dedup window: lease, fence, order, deferral, joins, dedup marks', async () => {
    const idleTtlMs = 2_000;
    const holds = holdAtRun();
    const s = await system({ idleTtlMs, stepHook: holds.hook });
    const game = s.w.gameId('idle');
    holds.hold(game);
    s.startWorkers();
    const entry = { gameId: game, imageRef: IMAGE, opSource: 'lobby_stream' as const, sourceRef: '1700000000000-0' };
    await s.enqueuer.enqueue('start', entry, { dedup: { entryId: entry.sourceRef, requestId: 'r-1' } });
    await expect.poll(() => holds.reached(game), { timeout: 30_000 }).toBe(true);
    // A joiner, a stop and a deferred start: every kind of per-game key is written.
    await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('joiner') });
    await s.enqueuer.enqueue('stop', { gameId: game, ...s.who('stop') });
    expect(await s.enqueuer.enqueue('start', { gameId: game, imageRef: IMAGE, ...s.who('again') })).toMatchObject({ kind: 'deferred' });
    const written = await s.gameKeys(game);
    for (const part of ['rtm-order:', 'rtm-deferred:', 'rtm-seen:', 'lease:', 'fence:'])
      expect(
        written.some((k) => k.includes(part)),
        `${part} in ${written.join(', ')}`,
      ).toBe(true);
    holds.release(game);
    await expect.poll(async () => (await s.job('start', game))?.data.sourceRef as string | undefined, { timeout: 60_000 }).toBe('again');
    await expect.poll(() => s.stateOf('start', game), { timeout: 60_000 }).toBe('completed');
    expect(await s.auditCodes(game)).toEqual(['start:success', 'start:success', 'stop:success', 'start:success']);
    // Bounded by what is awaited: each key's own TTL, set at the game's last write.
    await expect.poll(() => s.gameKeys(game), { timeout: idleTtlMs * 5, interval: 250 }).toEqual([]);
    // Four operations on a real engine, one held: more than the project's 60 s on a loaded machine.
  }, 180_000);
});
