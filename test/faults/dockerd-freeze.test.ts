/**
 * A daemon that stops answering (dockerd SIGSTOPped for longer than the
 * deadline): every attempt of the start fails retryable within the deadline,
 * instead of holding its worker slot forever, and the start succeeds once the
 * daemon is back — one container, named by the record.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from './support.js';
import { defaultDockerdPid, faultSystem, until } from './support.js';

const DEADLINE_MS = 2_000;
const FROZEN_MS = 7_000;

let system: FaultSystem | undefined;
/** The default engine's dockerd while this test holds it stopped; thawed by the same pid. */
let frozen: number | null = null;
const signalDockerd = (signal: 'SIGSTOP' | 'SIGCONT') => {
  const pid = signal === 'SIGCONT' && frozen !== null ? frozen : defaultDockerdPid();
  process.kill(pid, signal);
  frozen = signal === 'SIGSTOP' ? pid : null;
};
afterAll(async () => {
  if (frozen !== null) signalDockerd('SIGCONT');
  await system?.cleanup();
});

describe('dockerd frozen', () => {
  it('fails each attempt within the deadline as service_unavailable, then starts the game once the daemon answers', { timeout: 180_000 }, async () => {
    system = await faultSystem({ env: { RTMANAGER_DOCKER_TIMEOUT_MS: String(DEADLINE_MS), RTMANAGER_JOB_BACKOFF_MS: '200' } });
    const s = system;
    s.start('all');
    await s.waitReady();
    // Warm: dockerode loaded, image known, so the frozen attempts stop at the daemon, not before.
    expect((await s.post(`/runtimes/${s.gameId('warm')}/start?wait=30`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(200);

    const gameId = s.gameId('frozen');
    signalDockerd('SIGSTOP');
    const frozenAt = Date.now();
    expect((await s.post(`/runtimes/${gameId}/start`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(202);

    const failures = await until(
      async () => (await s.operations.listByGame(gameId, 50)).filter((row) => row.outcome === 'failure'),
      (rows) => rows.length >= 2 || Date.now() - frozenAt > FROZEN_MS,
      FROZEN_MS + 5_000,
      'attempts failing while the daemon is frozen',
    );
    expect(failures.length).toBeGreaterThanOrEqual(2);
    for (const row of failures) {
      expect(row.errorCode).toBe('service_unavailable');
      expect(row.errorMessage).toMatch(new RegExp(`did not answer within ${DEADLINE_MS} ms$`));
      // Bounded by the deadline, not by the freeze: the attempt ended while the daemon was still frozen (it was seen
      // before the thaw below), giving up at the first call the daemon left unanswered — one deadline's wait, not two.
      expect(row.finishedAt.getTime() - row.startedAt.getTime()).toBeLessThan(2 * DEADLINE_MS);
    }
    const waitedMs = Date.now() - frozenAt;
    if (waitedMs < FROZEN_MS) await new Promise((r) => setTimeout(r, FROZEN_MS - waitedMs));
    signalDockerd('SIGCONT');

    const record = await until(
      () => s.records.get(gameId),
      (r) => r?.status === 'running',
      60_000,
      `record running\n${s.output()}`,
    );
    const containers = (await s.containersOf(gameId)).filter((c) => c.Names[0] === `/galaxy-game-${gameId}`);
    expect(containers.map((c) => c.State)).toEqual(['running']);
    expect(record?.currentContainerId).toBe(containers[0]!.Id);
    console.log(`dockerd frozen ${FROZEN_MS} ms: ${failures.length} attempts failed within ${DEADLINE_MS} ms each, then the start succeeded`);
  });
});
