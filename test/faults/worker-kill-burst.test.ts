/**
 * The worker SIGKILLed at a random moment during a burst of starts, round
 * after round: every accepted start ends with exactly one container and a
 * true record after one reconcile pass.
 */
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from './support.js';
import { faultSystem, until } from './support.js';

const ROUNDS = Number(process.env.RTM_FAULT_ROUNDS ?? 10);
// 25 a round: more than the worker's 10 slots, so every kill meets a full worker and a queue behind it.
// CI's size: the engine here creates ≈ 1.4 hardened containers a second (the 2-core machine, measured
// with the docker CLI, 10 at a time), and 10 × 50 alone is ≈ 6 minutes of container creation.
const BURST = Number(process.env.RTM_FAULT_BURST ?? 25);
/**
 * Converging is bounded by what the engine can create, so the bound grows with
 * the work: a wedged worker (what this test exists to catch) converges at no
 * rate at all, and ≥ 1.5 s a start is about half the raw engine's speed here.
 */
const CONVERGE_MS_PER_START = 1_500;
const CONVERGE_MIN_MS = 120_000;

let system: FaultSystem | undefined;
afterAll(async () => {
  await system?.cleanup();
});

describe('worker killed during bursts', () => {
  it(`${ROUNDS} rounds × ${BURST} starts: one container and a true record each`, { timeout: 1_800_000 }, async () => {
    system = await faultSystem();
    const s = system;
    s.start('web');
    s.start('worker');
    await s.waitReady();
    const accepted: string[] = [];
    const killsAfterMs: number[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const games = Array.from({ length: BURST }, (_, i) => s.gameId(`b${round}-${i}`));
      // Only the worker is killed, never the web: every start of every round must be accepted.
      const answers = await Promise.all(
        games.map(async (g) => {
          const res = await s.post(`/runtimes/${g}/start`, { image_ref: 'galaxy-test-engine:labelled' });
          return { gameId: g, status: res.status, body: res.status === 202 ? '' : await res.text() };
        }),
      );
      expect(
        answers.filter((a) => a.status !== 202),
        `round ${round}: starts not accepted`,
      ).toEqual([]);
      accepted.push(...games);
      const delay = Math.floor(Math.random() * 3_000);
      killsAfterMs.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      await s.kill('worker', 'SIGKILL');
      s.start('worker');
    }

    expect(accepted).toHaveLength(ROUNDS * BURST);
    await until(
      async () => {
        const records = await Promise.all(accepted.map((g) => s.records.get(g)));
        return records.filter((r) => r?.status === 'running').length;
      },
      (running) => running === accepted.length,
      Math.max(CONVERGE_MIN_MS, accepted.length * CONVERGE_MS_PER_START),
      'every accepted start running',
    ).catch(async (error: unknown) => {
      // What a wedge looks like is the whole diagnosis: each stuck game's job and record, and the processes' last words.
      throw new Error(`${String(error)}\n${await stuckGames(s, accepted)}\n--- process output (tail) ---\n${s.output().slice(-6000)}`);
    });
    // One reconcile pass, then Docker and the records must agree.
    const reconcile = new Queue('reconcile', { connection: s.redis, prefix: s.run });
    const events = new QueueEvents('reconcile', { connection: s.redis.duplicate(), prefix: s.run });
    await events.waitUntilReady();
    const pass = await reconcile.add('reconcile', {});
    const summary = (await pass.waitUntilFinished(events, 60_000)) as { adopted: number; disappeared: number };
    console.log(`reconcile pass after the kills: ${JSON.stringify(summary)}`);
    await events.close();
    await reconcile.close();
    for (const gameId of accepted) {
      // Docker's name filter matches substrings (b0-1 would find b0-10…): keep the exact name and anything of this game.
      const containers = (await s.containersOf(gameId)).filter((c) => c.Names[0] === `/galaxy-game-${gameId}` || c.Labels['com.galaxy.game_id'] === gameId);
      expect(
        containers.map((c) => [c.Names[0], c.State]),
        gameId,
      ).toEqual([[`/galaxy-game-${gameId}`, 'running']]);
      expect(await s.records.get(gameId), gameId).toMatchObject({ status: 'running', currentContainerId: containers[0]!.Id });
    }
    console.log(`worker kills: ${ROUNDS} rounds, ${accepted.length} accepted starts, kills after ${killsAfterMs.join('/')} ms; all converged`);
  });
});

/** The accepted games whose record is not running: their start job's state, attempts and reason, and their record. */
async function stuckGames(s: FaultSystem, accepted: string[]): Promise<string> {
  const queue = new Queue('start-runtime', { connection: s.redis, prefix: s.run });
  try {
    const lines: string[] = [];
    const counts = await queue.getJobCounts();
    for (const gameId of accepted) {
      const record = await s.records.get(gameId);
      if (record?.status === 'running') continue;
      const job = await queue.getJob(gameId);
      const state = job ? await job.getState() : 'missing';
      lines.push(
        `${gameId}: record ${record?.status ?? 'none'}; job ${state}, attempts ${job?.attemptsMade ?? '-'}, stalls ${job?.stalledCounter ?? '-'}, ` +
          `delay ${job?.delay ?? '-'}, processedOn ${job?.processedOn ?? '-'}, reason ${JSON.stringify(job?.failedReason ?? '')}, ` +
          `result ${JSON.stringify(job?.returnvalue ?? null)?.slice(0, 200)}, progress ${JSON.stringify(job?.progress ?? null)?.slice(0, 120)}`,
      );
    }
    return `start-runtime queue: ${JSON.stringify(counts)}\n${lines.slice(0, 40).join('\n')}${lines.length > 40 ? `\n… and ${lines.length - 40} more` : ''}`;
  } finally {
    await queue.close();
  }
}
