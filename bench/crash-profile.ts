/**
 * Where a crash restart's time goes (issue 21): `npx tsx bench/crash-profile.ts`
 * (after `npm run build`) runs the system of the bench's `crash` part, with its
 * log at debug level, crashes its engine BENCH_CRASH_SAMPLES [10] times, and
 * prints for each mark of the answer its median time after the crashed
 * container's `die` event: the daemon's own events (timeNano), the worker's log
 * lines (pino `time`; each named step of the reconciler's and the restart's
 * operations) and the restart job's BullMQ timestamps (added = enqueued by the
 * crash-restart job; processed = its last run). One clock, the host's. The
 * debug log costs a little of its own: the figure is `npm run bench`'s.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { faultSystem } from '../test/faults/support.js';
import { LABEL_GAME_ID } from '../src/domain/model.js';
import type { DaemonEvent } from './crash-restart.js';
import { crash, CRASH_IMAGE, followDaemon, operatorDefaults } from './crash-restart.js';
import { healthEvent, healthStreamOf, lastHealthEntry, median, timedStart } from './measure.js';

const SAMPLES = Number(process.env.BENCH_CRASH_SAMPLES ?? 10);
const SETTLE_MS = 1_500;

interface LogLine {
  /** pino's isoTime, turned into epoch ms as it is read. */
  time: number;
  game_id?: string;
  op_kind?: string;
  step?: string;
  msg?: string;
}

/** One sample's marks, in the order they came: label → ms after the die event. */
type Marks = Array<[string, number]>;

function labelOf(line: LogLine): string {
  const what = line.msg?.endsWith(' step') ? line.step : line.msg;
  return `log ${line.op_kind ?? '-'}: ${what ?? '?'}`;
}

async function main(): Promise<void> {
  const s = await faultSystem();
  operatorDefaults(s.env, { RTMANAGER_CRASH_RESTART_MAX: String(SAMPLES + 10), RTMANAGER_CRASH_RESTART_BACKOFF_MS: '0' });
  s.env.RTMANAGER_LOG_LEVEL = 'debug';
  const lines: LogLine[] = [];
  const watcher = s.redis.duplicate();
  const daemon = await followDaemon(['die', 'destroy', 'create', 'start']);
  const connection = new Redis(s.env.RTMANAGER_REDIS_URL!, { maxRetriesPerRequest: null });
  const restarts = new Queue('restart-runtime', { connection, prefix: s.env.RTMANAGER_QUEUE_PREFIX! });
  try {
    let buffer = '';
    s.start('all').stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Omit<LogLine, 'time'> & { time: string };
        lines.push({ ...line, time: Date.parse(line.time) });
      }
    });
    await s.waitReady();
    const gameId = s.gameId('profile');
    await timedStart(s, watcher, gameId, CRASH_IMAGE);
    const samples: Marks[] = [];
    for (let i = -1; i < SAMPLES; i++) {
      const before = (await s.records.get(gameId))!;
      const from = await lastHealthEntry(s);
      const mark = daemon.mark();
      const logMark = lines.length;
      await crash(before.statePath!);
      const died = await daemon.next(mark, (e) => e.id === before.currentContainerId && e.action === 'die', 'die');
      await healthEvent(watcher, healthStreamOf(s), from, gameId, 'container_restarted');
      const told = Date.now();
      const job = await restarts.getJob(gameId);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      if (i < 0) continue; // the warm-up
      const t0 = died.timeNano / 1e6;
      const marks: Marks = [];
      const ours = (e: DaemonEvent) => e.id === before.currentContainerId || e.labels[LABEL_GAME_ID] === gameId;
      for (const e of daemon.seen.slice(mark).filter(ours))
        marks.push([`daemon ${e.action}${e.id === before.currentContainerId ? ' (crashed)' : ''}`, e.timeNano / 1e6 - t0]);
      const seen = new Map<string, number>();
      for (const line of lines.slice(logMark).filter((l) => l.game_id === gameId && l.time <= told)) {
        const label = labelOf(line);
        const n = (seen.get(label) ?? 0) + 1;
        seen.set(label, n);
        marks.push([n > 1 ? `${label} #${n}` : label, line.time - t0]);
      }
      if (job)
        marks.push(['bullmq restart job added (enqueued)', job.timestamp - t0], ['bullmq restart job processed (last run)', (job.processedOn ?? NaN) - t0]);
      marks.push(['bench: container_restarted read', told - t0]);
      samples.push(marks);
    }
    const labels = new Map<string, number[]>();
    for (const marks of samples) for (const [label, ms] of marks) labels.set(label, [...(labels.get(label) ?? []), ms]);
    const rows = [...labels.entries()].map(([label, ms]) => ({ label, median: median(ms), n: ms.length })).sort((a, b) => a.median - b.median);
    console.log(`\ncrash restart profile: ${SAMPLES} crashes, ms after the crashed container's die event (median; n = samples with the mark)`);
    for (const row of rows) console.log(`${row.median.toFixed(0).padStart(7)}  ${row.label}${row.n < samples.length ? `  (n=${row.n})` : ''}`);
  } finally {
    daemon.close();
    watcher.disconnect();
    await restarts.close();
    connection.disconnect();
    await s.cleanup();
  }
}

await main();
