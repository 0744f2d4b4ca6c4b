import { describe, expect, it } from 'vitest';
import { pruneOperationLog } from '../../src/domain/retention.js';
import { sampleEntry } from '../contracts/operation-log.contract.js';
import { InMemoryOperationLog } from '../fakes/in-memory-operation-log.js';
import { RecordingLogger } from '../fakes/support.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

/** The fake, counting the batches it was asked for. */
function operationLog() {
  const log = new InMemoryOperationLog();
  const limits: number[] = [];
  const deleteOlderThan = log.deleteOlderThan.bind(log);
  log.deleteOlderThan = (before, limit) => {
    limits.push(limit);
    return deleteOlderThan(before, limit);
  };
  return { log, limits };
}

async function appendAged(log: InMemoryOperationLog, gameId: string, days: number[]): Promise<void> {
  for (const d of days) await log.append(sampleEntry(gameId, { startedAt: daysAgo(d), finishedAt: daysAgo(d) }));
}

describe('operation log retention', () => {
  it('deletes what finished before now minus the retention, in batches, and keeps the rest', async () => {
    const { log, limits } = operationLog();
    await appendAged(log, 'g-old', [120, 95, 91, 90.5, 300]);
    await appendAged(log, 'g-kept', [89.9, 10, 0]);
    const logger = new RecordingLogger();

    const summary = await pruneOperationLog({ operations: log, clock: { now: () => NOW }, logger }, 90, 2);

    expect(summary).toEqual({ before: daysAgo(90), deleted: 5, batches: 3 });
    expect(limits).toEqual([2, 2, 2]);
    expect(await log.listByGame('g-old', 10)).toEqual([]);
    expect((await log.listByGame('g-kept', 10)).map((e) => e.finishedAt)).toEqual([daysAgo(0), daysAgo(10), daysAgo(89.9)]);
    expect(logger.lines).toEqual([
      {
        level: 'info',
        fields: { op_kind: 'operation_log_retention', before: daysAgo(90).toISOString(), deleted: 5, batches: 3 },
        message: 'operation log pruned',
      },
    ]);
  });

  it('asks once when the first batch comes back short', async () => {
    const { log, limits } = operationLog();
    await appendAged(log, 'g', [1]);
    const summary = await pruneOperationLog({ operations: log, clock: { now: () => NOW }, logger: new RecordingLogger() }, 7);
    expect(summary).toEqual({ before: daysAgo(7), deleted: 0, batches: 1 });
    expect(limits).toEqual([1_000]);
    expect(await log.listByGame('g', 10)).toHaveLength(1);
  });

  it('stops at the first failure: a database that is down fails the run, and the next run starts over', async () => {
    const { log } = operationLog();
    log.deleteOlderThan = () => Promise.reject(new Error('connection refused'));
    await expect(pruneOperationLog({ operations: log, clock: { now: () => NOW }, logger: new RecordingLogger() }, 90)).rejects.toThrow('connection refused');
  });
});
