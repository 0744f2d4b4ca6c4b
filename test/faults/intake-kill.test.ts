/**
 * Contract §14 on the real Procfile processes: the intake SIGKILLed between
 * an entry's enqueue and its XACK, then a stop. The entry stays pending; its
 * start runs, the stop is accepted and runs; a new intake claims the entry
 * and must acknowledge it as a duplicate — a second start would undo the
 * stop. A later request (a new request id) still runs; the lobby re-sending
 * the first one is a duplicate again.
 *
 * The crash is exact: test/support/crash-intake.mjs kills itself from the
 * intake's test-only hook, after the enqueue answered and before the XACK.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INTAKE_GROUP } from '../../src/jobs/intake.js';
import type { FaultSystem } from './support.js';
import { faultSystem, until } from './support.js';

const IMAGE = 'galaxy-test-engine:labelled';
/** After the crash the entry idles for the whole start and stop: far longer than this. */
const CLAIM_IDLE_MS = 500;
/** How long a start that should not happen is given to show itself (a start here takes ≈ 1 s). */
const QUIET_MS = 3_000;

let system: FaultSystem | undefined;
let crashIntake: ChildProcess | undefined;
let markers = '';

afterAll(async () => {
  if (crashIntake && crashIntake.exitCode === null && crashIntake.signalCode === null) crashIntake.kill('SIGKILL');
  await system?.cleanup();
  if (markers) await rm(markers, { recursive: true, force: true });
});

describe('the intake killed between enqueue and XACK, then a stop (contract §14)', () => {
  it('the re-delivered entry is a duplicate: the game stays stopped, one start row, counted', { timeout: 120_000 }, async () => {
    markers = await mkdtemp(path.join(os.tmpdir(), 'rtm-intake-kill-'));
    system = await faultSystem({ env: { RTMANAGER_INTAKE_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS) } });
    const s = system;
    const stream = `${s.run}:start_jobs`;
    const g = s.gameId('g');
    const api = (p: string) => fetch(`${s.base}/api/v1/internal${p}`, { headers: { authorization: `Bearer ${s.token}` } });
    const pending = async () => (await s.redis.xpending(stream, INTAKE_GROUP)) as [number, string | null, string | null, Array<[string, string]> | null];
    const duplicates = async () => {
      const text = await (await fetch(`${s.opsBase.intake}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('rtmanager_stream_duplicates_total'));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const gameContainers = async () => (await s.containersOf(g)).filter((c) => c.Names[0] === `/galaxy-game-${g}` || c.Labels['com.galaxy.game_id'] === g);
    // An audit row's source_ref is the entry id, then the job attempt that ran it.
    const entryOf = (sourceRef: unknown) => String(sourceRef).split(' ')[0];
    const startRows = async () => (await s.operations.listByGame(g, 50, 'start')).map((e) => [entryOf(e.sourceRef), e.outcome, e.errorCode]);
    const t0 = Date.now();
    const phases: string[] = [];
    const phase = (name: string) => phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // 1. Web and worker as the Procfile runs them; the intake is the one that dies after the enqueue of g.
    s.start('web');
    s.start('worker');
    await s.waitReady();
    phase('web and worker ready');
    let crashOutput = '';
    crashIntake = spawn(process.execPath, ['test/support/crash-intake.mjs'], {
      env: { ...s.env, RTMANAGER_TEST_CRASH_GAME: g, RTMANAGER_TEST_CRASH_MARKER_DIR: markers },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    crashIntake.stdout?.on('data', (d: Buffer) => (crashOutput += d.toString()));
    crashIntake.stderr?.on('data', (d: Buffer) => (crashOutput += d.toString()));
    const died = new Promise<NodeJS.Signals | number | null>((r) => crashIntake!.once('exit', (code, signal) => r(signal ?? code)));
    await until(
      () =>
        fetch(`${s.opsBase.intake}/readyz`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      30_000,
      `crash intake ready\n${crashOutput}`,
    );
    const first = (await s.redis.xadd(stream, '*', 'game_id', g, 'image_ref', IMAGE, 'request_id', 'lobby-r1')) as string;
    expect(await died, crashOutput).toBe('SIGKILL');
    phase('intake killed');
    expect(readFileSync(path.join(markers, `${g}.after_enqueue`), 'utf8')).toBe(first);
    const [count, lowest, , consumers] = await pending();
    expect([count, lowest, consumers?.length]).toEqual([1, first, 1]);

    // 2. The start it accepted runs; then a stop, over HTTP, waited for.
    await until(
      () => s.records.get(g),
      (r) => r?.status === 'running',
      30_000,
      `g running\n${s.output()}`,
    );
    phase('running');
    const stop = await s.post(`/runtimes/${g}/stop?wait=30`);
    const stopBody = (await stop.json()) as { result?: { outcome: string; record: { status: string } | null } };
    expect(stop.status, JSON.stringify(stopBody)).toBe(200);
    expect(stopBody.result).toMatchObject({ outcome: 'success', record: { status: 'stopped' } });
    expect((await pending())[0]).toBe(1);

    // 3. A normal intake claims the abandoned entry: acknowledged as a duplicate, nothing started.
    phase('stopped');
    s.start('intake');
    await until(
      async () => (await pending())[0],
      (n) => n === 0,
      30_000,
      `entry acknowledged\n${s.output()}`,
    );
    expect(await duplicates()).toBe(1);
    // A start wrongly enqueued by the claim would run within the quiet period.
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect((await s.records.get(g))?.status).toBe('stopped');
    expect((await gameContainers()).filter((c) => c.State === 'running')).toEqual([]);
    const { operations } = (await (await api(`/runtimes/${g}/operations`)).json()) as { operations: Array<Record<string, unknown>> };
    const starts = operations.filter((o) => o.op_kind === 'start');
    expect(starts).toEqual([expect.objectContaining({ op_source: 'lobby_stream', outcome: 'success', error_code: '' })]);
    expect(entryOf(starts[0]!.source_ref)).toBe(first);
    expect(operations.filter((o) => o.op_kind === 'stop')).toEqual([expect.objectContaining({ outcome: 'success' })]);

    // 4. A new request runs; the lobby re-sending the first one (a new entry, the same request id) is a duplicate.
    phase('claimed as a duplicate');
    const second = (await s.redis.xadd(stream, '*', 'game_id', g, 'image_ref', IMAGE, 'request_id', 'lobby-r2')) as string;
    await until(
      () => s.records.get(g),
      (r) => r?.status === 'running',
      30_000,
      `g running again\n${s.output()}`,
    );
    const resent = (await s.redis.xadd(stream, '*', 'game_id', g, 'image_ref', IMAGE, 'request_id', 'lobby-r1')) as string;
    await until(duplicates, (n) => n === 2, 10_000, `re-send counted\n${s.output()}`);
    await until(
      async () => (await pending())[0],
      (n) => n === 0,
      10_000,
      'every entry acknowledged',
    );
    await new Promise((r) => setTimeout(r, QUIET_MS));
    // Newest first: the new request's start, then the first entry's; none of the claimed entry's or the re-send's.
    expect(await startRows()).toEqual([
      [second, 'success', ''],
      [first, 'success', ''],
    ]);
    phase('new request ran, re-send counted');
    const record = await s.records.get(g);
    const containers = await gameContainers();
    expect(containers.map((c) => [c.Names[0], c.State])).toEqual([[`/galaxy-game-${g}`, 'running']]);
    expect(record).toMatchObject({ status: 'running', currentContainerId: containers[0]!.Id });
    console.log(`intake killed after the enqueue of ${first}, claimed as a duplicate after the stop; re-send ${resent} a duplicate\n  ${phases.join('\n  ')}`);
  });
});
