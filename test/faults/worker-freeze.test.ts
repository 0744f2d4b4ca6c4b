/**
 * A worker frozen (SIGSTOP) in the middle of a start for longer than its job
 * lock and its lease: a second worker takes the job over and finishes it;
 * then the frozen one is thawed (SIGCONT). At every step of the pipeline:
 * exactly one container, the record names it, and the thawed attempt changed
 * nothing — it stops at its step, its record write (if it gets that far) is
 * refused by the fence, and it ends in a lease-lost conflict.
 *
 * One round per step by default (≈ 8 s a step); RTM_FREEZE_ROUNDS=10 runs the
 * issue's full size.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { START_STEPS } from '../../src/domain/start.js';
import type { FaultSystem } from './support.js';
import { faultSystem, freePort, until } from './support.js';

const ROUNDS = Number(process.env.RTM_FREEZE_ROUNDS ?? 1);
const STEPS = START_STEPS.filter((s) => s !== 'validate_input');

let system: FaultSystem | undefined;
const children: ChildProcess[] = [];
let markers = '';

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
  await system?.cleanup();
  if (markers) await rm(markers, { recursive: true, force: true });
});

/** Linux process state: 'T' while stopped. */
function stateOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '?';
  } catch {
    return 'gone';
  }
}

describe('a worker frozen at each step of start', () => {
  it(`${ROUNDS} round(s) × ${STEPS.length} steps: one container, a true record, the thawed attempt refused`, { timeout: 1_800_000 }, async () => {
    markers = await mkdtemp(path.join(os.tmpdir(), 'rtm-freeze-'));
    system = await faultSystem();
    const s = system;
    s.start('web');
    await s.waitReady();
    // Two workers live at once (one frozen): each its own ops port.
    const spawnWorker = async (extra: Record<string, string>): Promise<ChildProcess> => {
      const env = { ...s.env, RTMANAGER_WORKER_OPS_PORT: String(await freePort()), ...extra };
      const child = spawn(process.execPath, ['test/support/crash-worker.mjs'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      return child;
    };
    const stop = async (child: ChildProcess) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    };
    const summary: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      for (const step of STEPS) {
        const gameId = s.gameId(`r${round}-${step.replace(/_/g, '-')}`).slice(0, 52);
        const crash = { RTMANAGER_TEST_CRASH_AT: `${gameId}:${step}`, RTMANAGER_TEST_CRASH_MARKER_DIR: markers };
        // The first worker freezes itself at the step; it is alone, so it takes the job.
        const frozen = await spawnWorker({ ...crash, RTMANAGER_TEST_CRASH_SIGNAL: 'SIGSTOP' });
        expect((await s.post(`/runtimes/${gameId}/start`, { image_ref: 'galaxy-test-engine:labelled' })).status).toBe(202);
        await until(
          () => existsSync(path.join(markers, `${gameId}.${step}`)) && stateOf(frozen.pid!) === 'T',
          (v) => v,
          60_000,
          `${step}: worker frozen`,
        );

        // A second worker takes the job over once the job lock (2 s) and the lease (3 s) have lapsed.
        const rescuer = await spawnWorker(crash);
        // Taken over: the rescuer's audit row (the frozen worker writes none while frozen), and a running record.
        await until(
          async () => (await s.operations.listByGame(gameId, 20)).length,
          (n) => n >= 1,
          60_000,
          `${step}: taken over\n${s.output()}`,
        );
        const record = await until(
          () => s.records.get(gameId),
          (r) => r?.status === 'running',
          60_000,
          `${step}: running\n${s.output()}`,
        );

        frozen.kill('SIGCONT');
        // Two audit rows of start: the rescuer's and the thawed attempt's.
        const rows = await until(
          async () => (await s.operations.listByGame(gameId, 20)).filter((e) => e.opKind === 'start'),
          (r) => r.length >= 2,
          30_000,
          `${step}: the thawed attempt ends`,
        );
        await stop(frozen);
        await stop(rescuer);

        const containers = (await s.containersOf(gameId)).filter((c) => c.Names[0] === `/galaxy-game-${gameId}` || c.Labels['com.galaxy.game_id'] === gameId);
        const story = `${step}: record ${JSON.stringify(record)}\naudit ${JSON.stringify(rows.map((e) => [e.outcome, e.errorCode, e.errorMessage]))}`;
        expect(
          containers.map((c) => [c.Names[0], c.State]),
          story,
        ).toEqual([[`/galaxy-game-${gameId}`, 'running']]);
        expect(await s.records.get(gameId), story).toMatchObject({ status: 'running', currentContainerId: containers[0]!.Id });
        const outcomes = rows.map((e) => `${e.outcome}:${e.errorCode}`).sort();
        const lostRows = rows.filter((e) => e.errorCode === 'conflict');
        expect(
          lostRows.every((e) => e.errorMessage.startsWith('lease lost: a newer operation owns this game')),
          story,
        ).toBe(true);
        if (step === 'publish_success') {
          // The frozen attempt wrote the record before it froze: the rescuer found it running (a replay).
          expect(outcomes, story).toEqual(['failure:conflict', 'success:replay_no_op']);
        } else if (step === 'acquire_lease') {
          // Frozen before it held anything: thawed, it either notices its job is gone or finds the game running.
          expect(
            [
              ['failure:conflict', 'success:'],
              ['success:', 'success:replay_no_op'],
            ],
            story,
          ).toContainEqual(outcomes);
        } else {
          expect(outcomes, story).toEqual(['failure:conflict', 'success:']);
        }
        const thawed = lostRows[0] ?? rows.find((e) => e.errorCode === 'replay_no_op');
        summary.push(`${step}: ${thawed?.errorMessage || thawed?.errorCode || '?'}`);
      }
    }
    console.log(`worker frozen at each step (${ROUNDS} round(s)):\n  ${summary.join('\n  ')}`);
  });
});
