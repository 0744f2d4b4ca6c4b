import { testRedisUrl } from '../support/services.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectStart } from '../../src/domain/start.js';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import type { IntakeDeps } from '../../src/composition/intake.js';
import { startIntake } from '../../src/composition/intake.js';
import type { Intake, StartRequest } from '../../src/jobs/intake.js';
import { INTAKE_GROUP } from '../../src/jobs/intake.js';
import { RecordingLogger, RecordingTelemetry } from '../fakes/support.js';
import { realWorld } from '../support/real-world.js';
import { testQueues } from '../support/test-queues.js';

const REDIS_URL = testRedisUrl();

const open: Array<{ intake: Intake; redis: Redis[] }> = [];
const streams: string[] = [];

afterEach(async () => {
  for (const { intake, redis } of open.splice(0)) {
    await intake.stop();
    for (const r of redis) r.disconnect();
  }
  const admin = new Redis(REDIS_URL);
  for (const stream of streams.splice(0)) await admin.del(stream);
  admin.disconnect();
});

function harness(over: Partial<IntakeDeps> = {}) {
  const stream = `test:intake:${randomUUID()}`;
  streams.push(stream);
  const enqueued: StartRequest[] = [];
  const rejected: Array<{ request: StartRequest; code: string; message: string | null }> = [];
  const blocking = new Redis(REDIS_URL);
  const commands = new Redis(REDIS_URL);
  const deps: IntakeDeps = {
    blocking,
    commands,
    stream,
    claimIdleMs: 60_000,
    blockMs: 200,
    enqueue: (request) => {
      enqueued.push(request);
      return Promise.resolve({ kind: 'enqueued', jobId: request.gameId });
    },
    reject: (request, code, message) => {
      rejected.push({ request, code, message });
      return Promise.resolve();
    },
    telemetry: new RecordingTelemetry(),
    logger: new RecordingLogger(),
    ...over,
  };
  const start = () => {
    const intake = startIntake(deps);
    open.push({ intake, redis: [blocking, commands] });
    return intake;
  };
  return { stream, deps, enqueued, rejected, commands, start };
}

async function pending(redis: Redis, stream: string): Promise<number> {
  const summary = (await redis.xpending(stream, INTAKE_GROUP)) as [number, ...unknown[]];
  return summary[0];
}

describe('stream intake', () => {
  it('enqueues a valid entry with the entry id as source_ref, then acknowledges it', async () => {
    const h = harness();
    await h.start().ready;
    const id = await h.commands.xadd(h.stream, '*', 'game_id', 'g-1', 'image_ref', 'galaxy/engine:1', 'request_id', 'r-9');
    await expect.poll(() => h.enqueued.length, { timeout: 5_000 }).toBe(1);
    expect(h.enqueued[0]).toEqual({ gameId: 'g-1', imageRef: 'galaxy/engine:1', opSource: 'lobby_stream', sourceRef: id, requestId: 'r-9' });
    await expect.poll(() => pending(h.commands, h.stream), { timeout: 5_000 }).toBe(0);
  });

  it('consumes entries written before the group existed', async () => {
    const h = harness();
    await h.commands.xadd(h.stream, '*', 'game_id', 'g-early', 'image_ref', 'galaxy/engine:1');
    await h.start().ready;
    await expect.poll(() => h.enqueued.length, { timeout: 5_000 }).toBe(1);
    expect(h.enqueued[0]?.gameId).toBe('g-early');
  });

  it.each([
    [['image_ref', 'x:1'], 'missing game id'],
    [['game_id', 'g-2'], 'missing image ref'],
    [['game_id', '../etc', 'image_ref', 'x:1'], 'bad game id'],
    [['game_id', 'g-2', 'image_ref', 'x:1', 'op_source', 'cron'], 'unknown op source'],
  ])('records a poison entry (%j: %s) as invalid and acknowledges it', async (fields, _why) => {
    const h = harness();
    await h.start().ready;
    await h.commands.xadd(h.stream, '*', ...fields);
    await h.commands.xadd(h.stream, '*', 'game_id', 'g-after', 'image_ref', 'x:1');
    await expect.poll(() => [h.rejected.length, h.enqueued.length], { timeout: 5_000 }).toEqual([1, 1]);
    expect(h.rejected[0]).toMatchObject({ code: 'start_config_invalid', message: expect.stringMatching(/^(game_id|image_ref|op_source): /) });
    expect(h.enqueued[0]?.gameId).toBe('g-after');
    await expect.poll(() => pending(h.commands, h.stream), { timeout: 5_000 }).toBe(0);
  });

  it('records a conflict with a pending start of another image and acknowledges it', async () => {
    const h = harness({ enqueue: () => Promise.resolve({ kind: 'conflict', pendingImageRef: 'x:0' }) });
    await h.start().ready;
    await h.commands.xadd(h.stream, '*', 'game_id', 'g-3', 'image_ref', 'x:1');
    await expect.poll(() => h.rejected.length, { timeout: 5_000 }).toBe(1);
    expect(h.rejected[0]).toMatchObject({ code: 'conflict', message: expect.stringContaining('"x:0"') });
    await expect.poll(() => pending(h.commands, h.stream), { timeout: 5_000 }).toBe(0);
  });

  it('leaves an entry pending while the queue is unreachable, and a later claim enqueues it', async () => {
    let down = true;
    const enqueued: StartRequest[] = [];
    const h = harness({
      claimIdleMs: 300,
      enqueue: (request) => {
        if (down) return Promise.reject(new Error('queue unreachable'));
        enqueued.push(request);
        return Promise.resolve({ kind: 'enqueued', jobId: request.gameId });
      },
    });
    await h.start().ready;
    await h.commands.xadd(h.stream, '*', 'game_id', 'g-4', 'image_ref', 'x:1');
    await expect.poll(() => pending(h.commands, h.stream), { timeout: 5_000 }).toBe(1);
    down = false;
    await expect.poll(() => enqueued.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => pending(h.commands, h.stream), { timeout: 5_000 }).toBe(0);
  });

  it("claims a dead consumer's pending entries", async () => {
    const h = harness({ claimIdleMs: 200 });
    // A consumer that read the entry and died before acknowledging it.
    await h.commands.xgroup('CREATE', h.stream, INTAKE_GROUP, '0', 'MKSTREAM');
    await h.commands.xadd(h.stream, '*', 'game_id', 'g-5', 'image_ref', 'x:1');
    await h.commands.xreadgroup('GROUP', INTAKE_GROUP, 'dead-consumer', 'COUNT', 10, 'STREAMS', h.stream, '>');
    expect(await pending(h.commands, h.stream)).toBe(1);
    await h.start().ready;
    await expect.poll(() => h.enqueued.length, { timeout: 10_000 }).toBe(1);
    expect(h.enqueued[0]?.gameId).toBe('g-5');
    await expect.poll(() => pending(h.commands, h.stream), { timeout: 5_000 }).toBe(0);
  });

  it('stops promptly even while blocked on the stream', async () => {
    // BLOCK 0 blocks for ever: stop() can only end by interrupting the read, never by waiting it out,
    // so its returning at all is the proof (no stopwatch for a busy machine to stretch).
    const h = harness({ blockMs: 0 });
    const blockedClient = String(await h.deps.blocking.client('ID'));
    const intake = h.start();
    await intake.ready;
    // Really blocked before the stop: Redis lists that connection as blocked in XREADGROUP.
    const blocked = async () => String(await h.commands.call('CLIENT', 'LIST', 'ID', blockedClient));
    await expect.poll(blocked, { timeout: 10_000, interval: 20 }).toMatch(/ flags=b .* cmd=xreadgroup /);
    const began = Date.now();
    await intake.stop();
    console.log(`intake stopped in ${Date.now() - began} ms while blocked in XREADGROUP BLOCK 0`);
    // And the blocked connection is gone, not left blocked behind it.
    await expect.poll(blocked, { timeout: 10_000, interval: 20 }).toBe('');
  });
});

describe('stream entries outside the bounds of contract §12 (real Redis, BullMQ and Postgres)', () => {
  it('are acknowledged, enqueue nothing, and each leaves one start_config_invalid audit row and notification', { timeout: 30_000 }, async () => {
    const world = await realWorld({ network: null });
    const q = testQueues();
    const blocking = new Redis(REDIS_URL);
    const commands = new Redis(REDIS_URL);
    const enqueuer = createEnqueuer({
      queues: q.queues,
      redis: q.redis,
      logger: new RecordingLogger(),
      attempts: 1,
      backoffMs: 10,
      mutexPrefix: `${q.prefix}:m:`,
    });
    const stream = `test:intake-bounds:${randomUUID()}`;
    streams.push(stream);
    // As the composition root wires it: the real enqueuer, and the domain records a refusal.
    const intake = startIntake({
      blocking,
      commands,
      stream,
      claimIdleMs: 60_000,
      blockMs: 200,
      enqueue: (request) => enqueuer.enqueue('start', request),
      reject: async (request, code, message) => {
        await rejectStart(world.deps, request, { code, message });
      },
      telemetry: world.telemetry,
      logger: new RecordingLogger(),
    });
    open.push({ intake, redis: [blocking, commands] });
    try {
      await intake.ready;
      const image = 'galaxy/engine:1';
      const cases = [
        {
          id: world.gameId('long-request-id'),
          fields: ['image_ref', image, 'request_id', 'r'.repeat(257)],
          message: 'request_id: must be at most 256 characters (got 257)',
        },
        {
          id: world.gameId('op-source'),
          fields: ['image_ref', image, 'op_source', 'cron'],
          message: 'op_source: must be one of lobby_stream, gm_rest, admin_rest, reconciler (got "cron")',
        },
        {
          id: world.gameId('long-image'),
          fields: ['image_ref', `galaxy/${'e'.repeat(4090)}`],
          message: 'image_ref: must be at most 4096 characters (got 4097)',
        },
      ];
      const ids: string[] = [];
      for (const c of cases) ids.push((await commands.xadd(stream, '*', 'game_id', c.id, ...c.fields)) as string);
      const badGameId = `../${'x'.repeat(300)}`;
      ids.push((await commands.xadd(stream, '*', 'game_id', badGameId, 'image_ref', image)) as string);
      const valid = world.gameId('valid');
      await commands.xadd(stream, '*', 'game_id', valid, 'image_ref', image, 'request_id', 'r'.repeat(256));

      await expect
        .poll(() => q.queues['start-runtime'].getJob(valid).then((job) => job?.data as unknown), { timeout: 10_000 })
        .toMatchObject({ gameId: valid, requestId: 'r'.repeat(256) });
      await expect.poll(() => pending(commands, stream), { timeout: 10_000 }).toBe(0);
      // Only the valid entry became a job: none is left to fail the worker's own parse (UnrecoverableError, no audit row).
      expect(await q.queues['start-runtime'].getJobCounts('waiting', 'failed', 'completed')).toEqual({ waiting: 1, failed: 0, completed: 0 });

      for (const [i, c] of cases.entries()) {
        const rows = await world.operations.listByGame(c.id, 10);
        expect(rows, c.id).toHaveLength(1);
        // The stream's own op source, whatever the entry named.
        expect(rows[0]).toMatchObject({
          opKind: 'start',
          opSource: 'lobby_stream',
          sourceRef: ids[i],
          outcome: 'failure',
          errorCode: 'start_config_invalid',
          errorMessage: c.message,
        });
      }
      expect((await world.operations.listByGame(world.gameId('long-image'), 1))[0]?.imageRef).toHaveLength(4096);
      // A bad game id keys its row as given, clipped to 128 characters: longer than any valid id, so never another game's.
      const clipped = `${badGameId.slice(0, 127)}…`;
      const [badRow] = await world.operations.listByGame(clipped, 10);
      expect(badRow).toMatchObject({
        sourceRef: ids[3],
        errorCode: 'start_config_invalid',
        errorMessage: expect.stringMatching(/^game_id: game id "\.\.\/x+" must match/),
      });
      expect(world.telemetry.startOutcomes).toEqual(
        Array.from({ length: 4 }, () => ({ outcome: 'failure', errorCode: 'start_config_invalid', opSource: 'lobby_stream' })),
      );
      const intents = await world.streamEntries(world.streams.intents);
      expect(intents.map((e) => (JSON.parse(e.payload!) as { game_id: string }).game_id)).toEqual([...cases.map((c) => c.id), clipped]);
    } finally {
      await q.close();
      await world.cleanup();
    }
  });
});
