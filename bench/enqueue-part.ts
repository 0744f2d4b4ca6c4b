/**
 * The enqueue part of `npm run bench`, and every role's memory under load:
 * - `web` alone (no worker: no container per request) under the enqueue load,
 *   paired with the floor (enqueue-load.ts): `enqueue_*` and `rss_mb_web`;
 * - `intake` alone under a flood of BENCH_INTAKE_FLOOD start-stream entries
 *   (fresh games), until its consumer group has read and acknowledged every
 *   one: `rss_mb_intake`;
 * - `all` (web, worker, intake in one process) under the same enqueue load,
 *   its start queue paused so its worker starts no container: `rss_mb_all`.
 * Each on a system of its own at an operator's defaults, the node flags of
 * the Procfile line of its role; peak RSS sampled every 100 ms.
 */
import { Queue } from 'bullmq';
import { INTAKE_GROUP } from '../src/jobs/intake.js';
import type { FaultSystem, Role } from '../test/faults/support.js';
import { faultSystem, until } from '../test/faults/support.js';
import { createRedis } from '../src/infra/redis/connection.js';
import { describePairs, enqueueLoad, enqueuePairs, startFloor } from './enqueue-load.js';
import { peakRss } from './measure.js';
import { IMAGE } from './raw.js';
import { describeSettings, procfileNodeArgs } from './settings.js';

export interface EnqueueSizes {
  rounds: number;
  seconds: number;
  connections: number;
  intakeFlood: number;
}

/** A system of its own running `role` at an operator's defaults, ready; `settings` collects what it ran with. */
async function roleSystem(role: Role, settings: Record<string, string>): Promise<{ system: FaultSystem; pid: number }> {
  const nodeArgs = await procfileNodeArgs(role);
  const system = await faultSystem({ defaults: true, nodeArgs });
  const line = describeSettings(role, system.env, nodeArgs);
  settings[role] = line;
  console.log(line);
  const pid = system.start(role).pid!;
  return { system, pid };
}

async function opsReady(base: string): Promise<void> {
  await until(
    () =>
      fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      ),
    (s) => s === 200,
    60_000,
    `${base} ready`,
  );
}

export async function enqueuePart(n: EnqueueSizes, settings: Record<string, string>, cleanups: Array<() => Promise<void>>) {
  const results: Record<string, number> = {};

  const web = await roleSystem('web', settings);
  cleanups.push(() => web.system.cleanup());
  const floor = await startFloor(web.system);
  cleanups.push(() => floor.stop());
  await web.system.waitReady();
  const webRss = peakRss(() => [web.pid]);
  const pairs = await enqueuePairs({ base: web.system.base, token: web.system.token, pid: web.pid }, floor, n.rounds, n.seconds, n.connections);
  results.rss_mb_web = webRss.stop();
  Object.assign(results, pairs.figures);
  console.log(`enqueue (${pairs.ours[0]!.tool}, ${n.connections} connections, ${n.rounds} pairs of ${n.seconds} s): ${describePairs(pairs)}`);
  await web.system.kill('web', 'SIGTERM');
  await floor.stop();

  const intake = await roleSystem('intake', settings);
  cleanups.push(() => intake.system.cleanup());
  await opsReady(intake.system.opsBase.intake);
  results.rss_mb_intake = await intakeFlood(intake.system, intake.pid, n.intakeFlood);
  await intake.system.kill('intake', 'SIGTERM');

  const all = await roleSystem('all', settings);
  cleanups.push(() => all.system.cleanup());
  await pauseStarts(all.system);
  await all.system.waitReady();
  const allRss = peakRss(() => [all.pid]);
  await enqueueLoad(all.system, 2, n.connections);
  const allLoad = await enqueueLoad(all.system, n.seconds, n.connections);
  results.rss_mb_all = allRss.stop();
  console.log(`enqueue on all (start queue paused): ${allLoad.rps} req/s, p99 ${allLoad.p99Ms} ms; rss max ${results.rss_mb_all} MB`);
  await all.system.kill('all', 'SIGTERM');
  return results;
}

/** Jobs wait in a paused queue: the `all` process's worker takes none. */
async function pauseStarts(system: FaultSystem): Promise<void> {
  const connection = createRedis(system.env.RTMANAGER_REDIS_URL!, 'bullmq');
  const queue = new Queue('start-runtime', { connection, prefix: system.env.RTMANAGER_QUEUE_PREFIX! });
  await queue.pause();
  await queue.close();
  await connection.quit();
}

/** `entries` start entries for fresh games at once; the intake's peak RSS (MB) until its group has read and acknowledged them all. */
async function intakeFlood(system: FaultSystem, pid: number, entries: number): Promise<number> {
  const stream = system.env.RTMANAGER_START_JOBS_STREAM!;
  const rss = peakRss(() => [pid]);
  const t = performance.now();
  for (let i = 0; i < entries; i += 1000) {
    const batch = system.redis.pipeline();
    for (let k = i; k < Math.min(entries, i + 1000); k++)
      batch.xadd(stream, '*', 'game_id', system.gameId(`flood${k}`), 'image_ref', IMAGE, 'request_id', `flood-${k}`);
    await batch.exec();
  }
  await until(
    async () => {
      const groups = (await system.redis.xinfo('GROUPS', stream)) as unknown[][];
      const group = groups.map((g) => new Map(pairsOf(g))).find((g) => g.get('name') === INTAKE_GROUP);
      return { lag: group?.get('lag'), pending: group?.get('pending') };
    },
    (g) => g.lag === 0 && g.pending === 0,
    600_000,
    `intake read ${entries} entries`,
  );
  const mb = rss.stop();
  console.log(`intake flood: ${entries} entries read and acknowledged in ${Math.round(performance.now() - t)} ms; rss max ${mb} MB`);
  return mb;
}

function pairsOf(flat: unknown[]): Array<[unknown, unknown]> {
  const out: Array<[unknown, unknown]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
