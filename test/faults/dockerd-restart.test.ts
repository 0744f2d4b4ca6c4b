/** dockerd restarted under a running worker: the worker and the events follower recover without a process restart. */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from './support.js';
import { testDocker } from '../support/backend.js';
import { defaultDockerdPid, faultSystem, processAlive, until } from './support.js';

let system: FaultSystem | undefined;
afterAll(async () => {
  await system?.cleanup();
});

/** The default engine's dockerd only, by its pid: the swarm's private one (if up) keeps running. */
async function restartDockerd(): Promise<void> {
  const pid = defaultDockerdPid();
  process.kill(pid, 'SIGTERM');
  // Its socket goes first; the process lives on while it stops containers.
  await until(
    () => (processAlive(pid) ? 'running' : 'gone'),
    (v) => v === 'gone',
    60_000,
    'dockerd exited',
  );
  execFileSync('bash', ['scripts/services.sh', 'up'], { stdio: 'ignore' });
  await until(
    () =>
      testDocker('docker')
        .ping()
        .then(
          () => 'up',
          () => 'down',
        ),
    (v) => v === 'up',
    60_000,
    'dockerd back',
  );
}

describe('dockerd restart', () => {
  it('marks what the restart killed and keeps starting games, without a process restart', { timeout: 300_000 }, async () => {
    system = await faultSystem();
    const s = system;
    s.start('all');
    await s.waitReady();
    const before = s.gameId('before');
    expect((await s.post(`/runtimes/${before}/start?wait=30`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(200);

    await restartDockerd();

    // The follower reconnected and reconciled: the container the restart stopped is on record.
    const record = await until(
      () => s.records.get(before),
      (r) => r?.status === 'exited' || r?.status === 'removed',
      60_000,
      'record corrected',
    );
    expect(['exited', 'removed']).toContain(record?.status);
    // The event follows the record write (best effort, after the audit row): wait for it, do not race it.
    const events = await until(
      () => s.redis.xrange(`${s.run}:health`, '-', '+'),
      (all) => all.some(([, f]) => f.includes(before) && (f.includes('container_exited') || f.includes('container_disappeared'))),
      10_000,
      'health event for the corrected record',
    );
    expect(events.some(([, f]) => f.includes(before) && (f.includes('container_exited') || f.includes('container_disappeared')))).toBe(true);

    // The same worker process starts games again.
    const after = s.gameId('after');
    const res = await s.post(`/runtimes/${after}/start?wait=60`, { image_ref: 'galaxy-test-engine:labelled' });
    expect(res.status).toBe(200);
    expect(await s.records.get(after)).toMatchObject({ status: 'running' });
    // And restarts the one the daemon restart stopped, replacing its stale container.
    expect((await s.post(`/runtimes/${before}/start?wait=60`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(200);
    expect((await s.containersOf(before)).map((c) => c.State)).toEqual(['running']);
  });
});
