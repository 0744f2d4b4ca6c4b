/**
 * Contract §14, "nothing waits on the database forever": the adapters' bound
 * (withinDeadline) and what the domain makes of its error. The same on the
 * real Postgres and PGlite: test/integration/database-deadline.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseDeadlineExceeded, isDatabaseDeadline } from '../../src/domain/errors.js';
import { beginOperation } from '../../src/domain/operation.js';
import { guarded } from '../../src/domain/operation-lease.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { withinDeadline } from '../../src/infra/db/deadline.js';
import { failure } from '../fakes/results.js';
import { IMAGE, world } from '../fakes/world.js';

const DEADLINE = { statementMs: 100, waitMs: 150 };
const input = { gameId: 'g-7', imageRef: IMAGE, opSource: 'gm_rest', sourceRef: 'req-7' } as const;

/** What a driver error looks like once drizzle has wrapped it. */
function wrapped(code: string, message: string): Error {
  return Object.assign(new Error('Failed query: select 1\nparams: '), { cause: Object.assign(new Error(message), { code }) });
}

describe('withinDeadline: a database call that outlives its deadline fails, known by its code', () => {
  it('gives up on a call that never answers at the wait bound', async () => {
    const began = performance.now();
    const error: unknown = await withinDeadline('load runtime record', DEADLINE, () => new Promise(() => undefined)).catch((e: unknown) => e);
    const took = performance.now() - began;
    expect(isDatabaseDeadline(error)).toBe(true);
    expect((error as Error).message).toBe('database load runtime record did not finish within 100 ms: no answer after 150 ms');
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1_000);
  });

  it.each([
    ['57014', 'canceling statement due to statement timeout'],
    ['55P03', 'canceling statement due to lock timeout'],
  ])('turns the server cancel %s into the deadline error, quoting the server', async (code, said) => {
    const error: unknown = await withinDeadline('write runtime record', DEADLINE, () => Promise.reject(wrapped(code, said))).catch((e: unknown) => e);
    expect(isDatabaseDeadline(error)).toBe(true);
    expect((error as Error).message).toBe(`database write runtime record did not finish within 100 ms: ${said} (SQLSTATE ${code})`);
  });

  it('lets any other failure through as it is, and an answer in time through untouched', async () => {
    const refused = wrapped('23505', 'duplicate key value violates unique constraint');
    await expect(withinDeadline('append operation log', DEADLINE, () => Promise.reject(refused))).rejects.toBe(refused);
    await expect(withinDeadline('read operation log', DEADLINE, () => Promise.resolve(['row']))).resolves.toEqual(['row']);
  });

  it('without a deadline waits as the driver does', async () => {
    const late = new Promise((resolve) => setTimeout(() => resolve('late'), 200));
    await expect(withinDeadline('load runtime record', null, () => late)).resolves.toBe('late');
  });
});

describe('an operation whose database call passed its deadline', () => {
  const deadline = new DatabaseDeadlineExceeded('load runtime record', 10_000, 'canceling statement due to lock timeout (SQLSTATE 55P03)');

  it('start at load_record (whose own code is internal_error): retryable service_unavailable, no admin notification, lease released', async () => {
    const w = world();
    w.records.failGet = deadline;
    const result = await startRuntime(w.deps, input);
    expect(result).toEqual(failure('service_unavailable', `load_record: ${deadline.message}`, true));
    expect(w.notifications.published).toEqual([]);
    expect(w.operations.entries).toMatchObject([{ gameId: 'g-7', opKind: 'start', outcome: 'failure', errorCode: 'service_unavailable' }]);
    expect(w.leases.held.size).toBe(0);
    expect(w.leases.releases).toHaveLength(1);
  });

  it('start at upsert_record: service_unavailable, and the container it ran is rolled back', async () => {
    const w = world();
    w.records.failUpsert = new DatabaseDeadlineExceeded('write runtime record', 10_000, 'no answer after 11000 ms');
    const result = await startRuntime(w.deps, input);
    expect(result).toEqual(
      failure('service_unavailable', 'upsert_record: database write runtime record did not finish within 10000 ms: no answer after 11000 ms', true),
    );
    expect(w.notifications.published).toEqual([]);
    expect(w.docker.containers.size).toBe(0);
    expect(w.leases.held.size).toBe(0);
  });

  it('stop at load_record: the same', async () => {
    const w = world();
    w.records.failGet = deadline;
    const result = await stopRuntime(w.deps, { gameId: 'g-7', opSource: 'gm_rest', sourceRef: 'req-8' });
    expect(result).toEqual(failure('service_unavailable', `load_record: ${deadline.message}`, true));
    expect(w.notifications.published).toEqual([]);
    expect(w.leases.held.size).toBe(0);
  });

  it('thrown where no step expects it (a cleanup read), still service_unavailable, not internal_error', async () => {
    const w = world();
    const op = beginOperation(w.deps, 'start', input, {});
    const result = await guarded(op, () => Promise.reject(deadline));
    expect(result).toEqual(failure('service_unavailable', `validate_input: ${deadline.message}`, true));
    expect(await guarded(op, () => Promise.reject(new Error('bug')))).toEqual(failure('internal_error', 'validate_input: bug', true));
  });

  it('any other throw at load_record keeps the step its own code', async () => {
    const w = world();
    w.records.failGet = new Error('connection refused');
    const result = await startRuntime(w.deps, input);
    expect(result).toEqual(failure('internal_error', 'load runtime record: connection refused', true));
  });
});
