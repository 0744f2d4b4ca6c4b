/** Postgres stopped for 30 s while starts run: no orphan container afterwards; retried starts succeed once it is back. */
import { execFileSync } from 'node:child_process';
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

const pgCtl = (dir: string, action: string) =>
  execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `/usr/lib/postgresql/15/bin/pg_ctl -D '${dir}' -m fast -w ${action}`], { stdio: 'ignore' });

describe('Postgres outage', () => {
  it('leaves no container without a record, and the retried starts succeed', { timeout: 300_000 }, async () => {
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
      await new Promise((r) => setTimeout(r, 30_000));
    } finally {
      // The cluster was started by pg_ctl with its options in postmaster.opts: `restart` is not possible once stopped.
      execFileSync('bash', ['scripts/services.sh', 'up'], { stdio: 'ignore' });
    }
    console.log(`postgres was down ${Math.round((Date.now() - stoppedAt) / 1000)} s`);

    const outcomes = await until(
      async () => Promise.all(games.map(async (g) => (await s.operations.listByGame(g, 50, 'start')).find((e) => e.outcome === 'success' || e.errorCode === 'container_start_failed') ?? null)),
      (list) => list.every((e) => e !== null),
      120_000,
      'every start settled',
    );
    for (const [i, gameId] of games.entries()) {
      const containers = await s.containersOf(gameId);
      const record = await s.records.get(gameId);
      if (outcomes[i]!.outcome === 'success') {
        expect(containers.map((c) => c.State), gameId).toEqual(['running']);
        expect(record, gameId).toMatchObject({ status: 'running', currentContainerId: containers[0]!.Id });
      } else {
        // Reached the record write while Postgres was away: rolled back, nothing orphaned.
        expect(containers, gameId).toEqual([]);
      }
    }
    const succeeded = outcomes.filter((o) => o!.outcome === 'success').length;
    console.log(`postgres outage: ${succeeded}/${games.length} starts succeeded after retries; the rest failed at the record write and were rolled back`);
    expect(succeeded).toBeGreaterThan(0);
  });
});
