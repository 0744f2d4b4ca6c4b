/**
 * Contract §14 at the stream intake, on real Redis: a stream entry runs at
 * most once (an entry re-delivered after its consumer died, or taken by
 * XAUTOCLAIM from a slow one, or a lobby's request re-sent as a new entry),
 * and a refused entry stays pending until its audit row is written.
 *
 * The enqueuer is the in-memory one that honours the dedup-aware enqueue
 * contract (test/contracts/dedup-enqueue.contract.ts), which the real
 * enqueuer is held to as well.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { OperationEntry, OpKind } from '../../src/domain/model.js';
import type { OperationLog } from '../../src/domain/ports.js';
import { rejectStart } from '../../src/domain/start.js';
import { openDatabase } from '../../src/infra/db/client.js';
import { PostgresOperationLog } from '../../src/infra/db/postgres-operation-log.js';
import type { IntakeDeps } from '../../src/composition/intake.js';
import { startIntake } from '../../src/composition/intake.js';
import type { Intake } from '../../src/jobs/intake.js';
import { INTAKE_GROUP } from '../../src/jobs/intake.js';
import { freePort } from '../faults/support.js';
import { FakeDedupEnqueuer } from '../fakes/dedup-enqueuer.js';
import { RecordingLogger, RecordingTelemetry } from '../fakes/support.js';
import { realWorld } from '../support/real-world.js';
import { testRedisUrl } from '../support/services.js';

const REDIS_URL = testRedisUrl();
const DAY_MS = 86_400_000;
const DUPLICATE_LINE = 'duplicate start entry acknowledged without a new operation';

const running: Array<{ intake: Intake; redis: Redis[] }> = [];
const streams: string[] = [];

afterEach(async () => {
  for (const { intake, redis } of running.splice(0)) {
    await intake.stop();
    for (const r of redis) r.disconnect();
  }
  const admin = new Redis(REDIS_URL);
  for (const stream of streams.splice(0)) await admin.del(stream);
  admin.disconnect();
});

function newStream(): string {
  const stream = `test:intake-once:${randomUUID()}`;
  streams.push(stream);
  return stream;
}

/** One intake process: its own connections, consumer name, telemetry and log. */
function consumer(stream: string, name: string, over: Partial<IntakeDeps> & Pick<IntakeDeps, 'enqueue'>) {
  const telemetry = new RecordingTelemetry();
  const logger = new RecordingLogger();
  const blocking = new Redis(REDIS_URL);
  const commands = new Redis(REDIS_URL);
  const intake = startIntake({
    blocking,
    commands,
    stream,
    consumer: name,
    claimIdleMs: 60_000,
    blockMs: 100,
    reject: () => Promise.reject(new Error('no refusal expected here')),
    telemetry,
    logger,
    ...over,
  });
  running.push({ intake, redis: [blocking, commands] });
  return { intake, telemetry, logger, commands };
}

async function pendingCount(redis: Redis, stream: string): Promise<number> {
  const [count] = (await redis.xpending(stream, INTAKE_GROUP)) as [number];
  return count;
}

const game = (label: string) => `g${randomUUID().slice(0, 8)}-${label}`;

describe('a stream entry runs at most once (contract §14)', () => {
  it('an entry re-delivered after its consumer died between enqueue and XACK is acknowledged as a duplicate: no second start, counted', async () => {
    const fake = new FakeDedupEnqueuer(DAY_MS);
    const stream = newStream();
    const g = game('crash');
    // Consumer A enqueues, then "dies" before its XACK: the entry stays in its pending list.
    const a = consumer(stream, 'consumer-a', {
      enqueue: async (request, dedup) => {
        await fake.enqueue('start', request, { dedup });
        throw new Error('killed before XACK');
      },
    });
    await a.intake.ready;
    const id = (await a.commands.xadd(stream, '*', 'game_id', g, 'image_ref', 'galaxy/engine:1', 'request_id', 'r-1')) as string;
    await expect.poll(() => fake.calls.length, { timeout: 5_000 }).toBe(1);
    await a.intake.stop();
    expect(await pendingCount(a.commands, stream)).toBe(1);

    // Meanwhile its start ran to its end, and a stop was accepted: a second start would undo that stop.
    fake.endJobs(g);
    await fake.enqueue('stop', { gameId: g, opSource: 'gm_rest', sourceRef: 'http-1' });

    const b = consumer(stream, 'consumer-b', { claimIdleMs: 200, enqueue: (request, dedup) => fake.enqueue('start', request, { dedup }) });
    await b.intake.ready;
    await expect.poll(() => pendingCount(b.commands, stream), { timeout: 10_000 }).toBe(0);

    expect(fake.calls.map((c) => [c.kind, c.dedup, c.outcome.kind])).toEqual([
      ['start', { entryId: id, requestId: 'r-1' }, 'enqueued'],
      ['stop', undefined, 'enqueued'],
      ['start', { entryId: id, requestId: 'r-1' }, 'duplicate'],
    ]);
    expect(fake.pendingKinds(g)).toEqual(['stop']);
    expect(b.telemetry.streamDuplicates).toBe(1);
    expect(b.logger.lines.filter((l) => l.message === DUPLICATE_LINE)).toEqual([
      { level: 'info', fields: expect.objectContaining({ entry_id: id, game_id: g, job_id: g, request_id: 'r-1' }), message: DUPLICATE_LINE },
    ]);
  });

  it('an entry XAUTOCLAIM took from a live but slow consumer runs once: the slow one finds it a duplicate', async () => {
    const fake = new FakeDedupEnqueuer(DAY_MS);
    const stream = newStream();
    let slowEntered = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = consumer(stream, 'consumer-slow', {
      enqueue: async (request, dedup) => {
        slowEntered = true;
        await gate;
        return fake.enqueue('start', request, { dedup });
      },
    });
    await slow.intake.ready;
    await slow.commands.xadd(stream, '*', 'game_id', game('slow'), 'image_ref', 'galaxy/engine:1');
    await expect.poll(() => slowEntered, { timeout: 5_000 }).toBe(true);

    const claimer = consumer(stream, 'consumer-claimer', { claimIdleMs: 200, enqueue: (request, dedup) => fake.enqueue('start', request, { dedup }) });
    await expect.poll(() => fake.calls.length, { timeout: 10_000 }).toBe(1);
    release();
    await expect.poll(() => fake.calls.length, { timeout: 5_000 }).toBe(2);
    await expect.poll(() => pendingCount(slow.commands, stream), { timeout: 5_000 }).toBe(0);

    expect(fake.calls.map((c) => c.outcome.kind)).toEqual(['enqueued', 'duplicate']);
    expect([claimer.telemetry.streamDuplicates, slow.telemetry.streamDuplicates]).toEqual([0, 1]);
  });

  it('the same request_id re-sent as a new entry is a duplicate; a new request_id runs; an entry without one is told apart by its id', async () => {
    const fake = new FakeDedupEnqueuer(DAY_MS);
    const stream = newStream();
    const g = game('resend');
    const c = consumer(stream, 'consumer-1', { enqueue: (request, dedup) => fake.enqueue('start', request, { dedup }) });
    await c.intake.ready;
    const send = async (...extra: string[]) => {
      const before = fake.calls.length;
      await c.commands.xadd(stream, '*', 'game_id', g, 'image_ref', 'galaxy/engine:1', ...extra);
      await expect.poll(() => fake.calls.length, { timeout: 5_000 }).toBe(before + 1);
      // Each start runs to its end before the next entry: only the dedup keys can make one a duplicate.
      fake.endJobs(g);
      return fake.calls.at(-1)!.outcome.kind;
    };
    expect(await send('request_id', 'r-1')).toBe('enqueued');
    expect(await send('request_id', 'r-1')).toBe('duplicate');
    expect(await send('request_id', 'r-2')).toBe('enqueued');
    expect(await send()).toBe('enqueued');
    expect(await send()).toBe('enqueued');
    await expect.poll(() => pendingCount(c.commands, stream), { timeout: 5_000 }).toBe(0);
    expect(c.telemetry.streamDuplicates).toBe(1);
  });
});

/** The real adapter, on the test's database or, while "Postgres is down", on a port nothing listens on. */
class SwitchableOperationLog implements OperationLog {
  down = true;
  constructor(
    private readonly up: OperationLog,
    private readonly unreachable: OperationLog,
  ) {}
  private get current(): OperationLog {
    return this.down ? this.unreachable : this.up;
  }
  append(entry: OperationEntry): Promise<number> {
    return this.current.append(entry);
  }
  listByGame(gameId: string, limit: number, opKind?: OpKind) {
    return this.current.listByGame(gameId, limit, opKind);
  }
  deleteOlderThan(before: Date, limit: number): Promise<number> {
    return this.current.deleteOlderThan(before, limit);
  }
}

describe('a stream entry refused while Postgres is down (contract §14, real Redis and Postgres)', () => {
  it(
    'stays pending, notifying nothing, until its audit row is written; then is acknowledged with one row and one notification',
    { timeout: 60_000 },
    async () => {
      const world = await realWorld({ network: null });
      const unreachable = await openDatabase(`postgres://rtm@127.0.0.1:${await freePort()}/rtm`, { dataDir: '', maxConnections: 2 });
      const operations = new SwitchableOperationLog(world.operations, new PostgresOperationLog(unreachable.db));
      const deps = { ...world.deps, operations };
      const fake = new FakeDedupEnqueuer(DAY_MS);
      const stream = newStream();
      try {
        const c = consumer(stream, 'consumer-1', {
          claimIdleMs: 300,
          enqueue: (request, dedup) => fake.enqueue('start', request, { dedup }),
          // As the composition root wires it: the domain records the refusal.
          reject: async (request, code, message) => {
            await rejectStart(deps, request, { code, message });
          },
        });
        await c.intake.ready;
        const refused = (await c.commands.xadd(stream, '*', 'game_id', '../etc', 'image_ref', 'galaxy/engine:1')) as string;
        const valid = game('valid');
        await c.commands.xadd(stream, '*', 'game_id', valid, 'image_ref', 'galaxy/engine:1');

        // The valid entry behind it still goes through; the refused one is tried again at each claim, and kept.
        await expect.poll(() => fake.operations.map((o) => o.payload.gameId), { timeout: 5_000 }).toEqual([valid]);
        const keptPending = () => c.logger.lines.filter((l) => l.level === 'error' && l.fields.entry_id === refused);
        await expect.poll(() => keptPending().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
        expect(keptPending()[0]?.fields.err).toMatch(/^the start_config_invalid refusal of start \.\.\/etc has no audit row yet: .*ECONNREFUSED/);
        const [count, , , perConsumer] = (await c.commands.xpending(stream, INTAKE_GROUP)) as [number, string, string, Array<[string, string]>];
        expect([count, perConsumer]).toEqual([1, [['consumer-1', '1']]]);
        // Nothing but the audit row was attempted: no notification or count per retry.
        expect(await world.streamEntries(world.streams.intents)).toEqual([]);
        expect(world.telemetry.startOutcomes).toEqual([]);

        operations.down = false;
        await expect.poll(() => pendingCount(c.commands, stream), { timeout: 10_000 }).toBe(0);
        const rows = await world.operations.listByGame('../etc', 10);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ sourceRef: refused, opSource: 'lobby_stream', outcome: 'failure', errorCode: 'start_config_invalid' });
        const intents = await world.streamEntries(world.streams.intents);
        expect(intents.map((e) => e.notification_type)).toEqual(['runtime.start_config_invalid']);
        expect(world.telemetry.startOutcomes).toEqual([{ outcome: 'failure', errorCode: 'start_config_invalid', opSource: 'lobby_stream' }]);
      } finally {
        await unreachable.close();
        await world.cleanup();
      }
    },
  );
});
