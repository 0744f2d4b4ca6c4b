/** Postgres stopped for 30 s while starts run: no orphan container afterwards; retried starts succeed once it is back. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { testPgUrl } from '../support/services.js';
import type { FaultSystem } from './support.js';
import { faultSystem, until } from './support.js';

let system: FaultSystem | undefined;
afterAll(async () => {
  await system?.cleanup();
});

async function dataDirectory(): Promise<string> {
  const sql = postgres(testPgUrl(), { max: 1 });
  try {
    const [row] = await sql<Array<{ setting: string }>>`select setting from pg_settings where name = 'data_directory'`;
    return row!.setting;
  } finally {
    await sql.end();
  }
}

/** Starts the very cluster that was stopped, with the options it ran with (pg_ctl keeps them in postmaster.opts). */
function startCluster(dir: string): void {
  const opts = readFileSync(path.join(dir, 'postmaster.opts'), 'utf8').trim();
  const args = [...opts.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const withoutDataDir = args.filter((a, i) => a !== '-D' && args[i - 1] !== '-D');
  const quoted = withoutDataDir.map((a) => `'${a}'`).join(' ');
  execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `/usr/lib/postgresql/15/bin/pg_ctl -D '${dir}' -l '${dir}/server.log' -w -o "${quoted}" start`], {
    stdio: 'ignore',
  });
}

const pgCtl = (dir: string, action: string) =>
  execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `/usr/lib/postgresql/15/bin/pg_ctl -D '${dir}' -m fast -w ${action}`], { stdio: 'ignore' });

describe('Postgres outage', () => {
  it('leaves no container without a record, and every retried start succeeds', { timeout: 300_000 }, async () => {
    system = await faultSystem();
    const s = system;
    s.start('all');
    await s.waitReady();
    const dir = await dataDirectory();
    const games = Array.from({ length: 6 }, (_, i) => s.gameId(`pg${i}`));

    for (const gameId of games) expect((await s.post(`/runtimes/${gameId}/start`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(202);
    pgCtl(dir, 'stop');
    const stoppedAt = Date.now();
    try {
      await new Promise((r) => setTimeout(r, Number(process.env.RTM_FAULT_PG_DOWN_MS ?? 30_000)));
    } finally {
      startCluster(dir);
    }
    console.log(`postgres was down ${Math.round((Date.now() - stoppedAt) / 1000)} s`);

    // Settled = the job finished (its audit row may be lost: the audit log lives in the database that was away).
    const queue = new Queue('start-runtime', { connection: s.redis, prefix: s.run });
    const states = await until(
      async () =>
        Promise.all(
          games.map(async (g) => {
            const job = await queue.getJob(g);
            return job ? `${await job.getState()}:${job.attemptsMade}:${(job.failedReason ?? '').slice(0, 80)}` : 'none';
          }),
        ),
      (list) => list.every((st) => st.startsWith('completed') || st.startsWith('failed')),
      120_000,
      `every start settled\n${s.output().slice(-4000)}`,
    );
    await queue.close();
    const outcomes = states.map((st) => ({ outcome: st.startsWith('completed') ? 'success' : 'failure' }));
    console.log(`job states after the outage: ${states.join(' | ')}`);
    for (const [i, gameId] of games.entries()) {
      const containers = await s.containersOf(gameId);
      const record = await s.records.get(gameId);
      expect(outcomes[i]!.outcome, `${gameId}: ${states[i]}`).toBe('success');
      expect(
        containers.map((c) => c.State),
        gameId,
      ).toEqual(['running']);
      expect(record, gameId).toMatchObject({ status: 'running', currentContainerId: containers[0]!.Id });
    }
    console.log(`postgres outage: all ${games.length} starts succeeded after retries; none left a container without a record`);
  });
});
