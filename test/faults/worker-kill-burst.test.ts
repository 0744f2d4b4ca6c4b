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
const BURST = Number(process.env.RTM_FAULT_BURST ?? 50);

let system: FaultSystem | undefined;
afterAll(async () => {
  await system?.cleanup();
});

describe('worker killed during bursts', () => {
  it(`${ROUNDS} rounds × ${BURST} starts: one container and a true record each`, { timeout: 900_000 }, async () => {
    system = await faultSystem();
    const s = system;
    s.start('web');
    s.start('worker');
    await s.waitReady();
    const accepted: string[] = [];
    const killsAfterMs: number[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const games = Array.from({ length: BURST }, (_, i) => s.gameId(`b${round}-${i}`));
      const statuses = await Promise.all(games.map((g) => s.post(`/runtimes/${g}/start`, { image_ref: 'galaxy-test-engine:labelled' }).then((r) => r.status)));
      games.forEach((g, i) => statuses[i] === 202 && accepted.push(g));
      const delay = Math.floor(Math.random() * 3_000);
      killsAfterMs.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      await s.kill('worker', 'SIGKILL');
      s.start('worker');
    }

    await until(
      async () => {
        const records = await Promise.all(accepted.map((g) => s.records.get(g)));
        return records.filter((r) => r?.status === 'running').length;
      },
      (running) => running === accepted.length,
      300_000,
      'every accepted start running',
    );
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
