/**
 * The judge of the order property (test/faults/order-oracle.ts) on hand-made
 * histories: it must flag what contract §14 forbids (the counterexample issue
 * 19 found on main among them) and pass what it allows, or the property test
 * proves nothing either way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AcceptedRequest, AuditRow, GameContainer, GameObservation, Kind } from '../faults/order-oracle.js';
import { judgeGame, planArb } from '../faults/order-oracle.js';

const GAME = 'g1';
const A = 'galaxy-test-engine:labelled';
const B = 'galaxy-test-engine:labelled-v2';

function request(index: number, kind: Kind, imageRef: string | null = null): AcceptedRequest {
  return { index, gameId: GAME, kind, imageRef, via: 'http', sourceRef: `ref-${index}` };
}

let nextRow = 1;
function row(of: AcceptedRequest, outcome: 'success' | 'failure', errorCode = '', extra: Partial<AuditRow> = {}): AuditRow {
  return {
    id: nextRow++,
    op_kind: of.kind,
    op_source: 'gm_rest',
    source_ref: `${of.sourceRef} job:${GAME}#1`,
    image_ref: of.imageRef ?? '',
    outcome,
    error_code: errorCode,
    error_message: '',
    started_at: '2026-12-01T00:00:00.000Z',
    finished_at: '2026-12-01T00:00:01.000Z',
    ...extra,
  };
}

const runningOn = (image: string) => ({
  record: { status: 'running', current_container_id: 'c1', current_image_ref: image },
  containers: [{ id: 'c1', name: `galaxy-game-${GAME}`, running: true, imageLabel: image }] satisfies GameContainer[],
});
const stopped = { record: { status: 'stopped', current_container_id: null, current_image_ref: A }, containers: [] };

function judge(accepted: AcceptedRequest[], rows: AuditRow[], state: Pick<GameObservation, 'record' | 'containers'>, faulted = false) {
  return judgeGame({ gameId: GAME, accepted, refused: [], rows, faulted, ...state }).problems;
}

describe('order oracle', () => {
  it("flags issue 19's counterexample on main: start(A) pending, stop, start(A) joined across the stop, the game stopped", () => {
    const q = [request(0, 'start', A), request(1, 'stop'), request(2, 'start', A)];
    const problems = judge(q, [row(q[0]!, 'success'), row(q[1]!, 'success')], stopped);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/request 2 .* has no row of its own, and may not have joined .* it seems to have joined request 0/);
    expect(problems[1]).toMatch(/last accepted request, request 2 .* succeeded, so the game must run galaxy-test-engine:labelled/);
  });

  it('passes the same sequence as the contract allows it: the first start superseded, the stop, the last start running', () => {
    const q = [request(0, 'start', A), request(1, 'stop'), request(2, 'start', A)];
    const rows = [row(q[0]!, 'failure', 'superseded'), row(q[1]!, 'success', 'replay_no_op'), row(q[2]!, 'success')];
    expect(judge(q, rows, runningOn(A))).toEqual([]);
  });

  it('lets a request join the one accepted just before it (same kind and image), with a row of its own', () => {
    const q = [request(0, 'start', A), request(1, 'start', A)];
    expect(judge(q, [row(q[0]!, 'success'), row(q[1]!, 'success')], runningOn(A))).toEqual([]);
    expect(judge(q, [row(q[0]!, 'success')], runningOn(A))).toEqual([
      expect.stringMatching(/request 1 .* has no row of its own; it may have joined request 0 .* but must still end with a row/),
    ]);
  });

  it('never lets the last accepted request be superseded', () => {
    const q = [request(0, 'start', A), request(1, 'stop')];
    const problems = judge(q, [row(q[0]!, 'success'), row(q[1]!, 'failure', 'superseded')], runningOn(A));
    expect(problems).toEqual([expect.stringMatching(/request 1 .* is the last accepted request of g1 and was superseded/)]);
  });

  it('counts retried attempts apart: one terminal row after them is right, none at all is not', () => {
    const q = [request(0, 'start', A)];
    const retried = [
      row(q[0]!, 'failure', 'service_unavailable'),
      row(q[0]!, 'failure', 'conflict', { error_message: 'lease lost: a newer operation owns this game (the job lost its lock: job lock lost)' }),
    ];
    expect(judge(q, [...retried, row(q[0]!, 'success', '', { source_ref: `ref-0 job:${GAME}#2` })], runningOn(A))).toEqual([]);
    expect(judge(q, retried, { record: null, containers: [] })).toEqual([expect.stringMatching(/request 0 .* has no terminal row, only retried attempts/)]);
  });

  it('allows a second success row only after a worker fault (a job run again after its row)', () => {
    const q = [request(0, 'start', A)];
    const rows = [row(q[0]!, 'success'), row(q[0]!, 'success', 'replay_no_op')];
    expect(judge(q, rows, runningOn(A), true)).toEqual([]);
    expect(judge(q, rows, runningOn(A), false)).toEqual([expect.stringMatching(/request 0 .* has 2 terminal rows/)]);
  });

  it('refuses an end outside the allowed codes', () => {
    const q = [request(0, 'start', A)];
    expect(judge(q, [row(q[0]!, 'failure', 'container_start_failed')], { record: null, containers: [] })).toEqual([
      expect.stringMatching(/ended .*container_start_failed.*: not an allowed end/),
    ]);
  });

  it('expects a restart to run the image of the latest start or patch that succeeded before it', () => {
    const q = [request(0, 'start', A), request(1, 'patch', B), request(2, 'start', A), request(3, 'restart')];
    // The second start met the game running B: a conflict, so B is still the image to restart.
    const rows = [row(q[0]!, 'success'), row(q[1]!, 'success'), row(q[2]!, 'failure', 'conflict'), row(q[3]!, 'success')];
    expect(judge(q, rows, runningOn(B))).toEqual([]);
    expect(judge(q, rows, runningOn(A))).toEqual([expect.stringMatching(/so the game must run galaxy-test-engine:labelled-v2/)]);
  });

  it('allows start_config_invalid only for a restart with nothing started before it', () => {
    const alone = [request(0, 'restart')];
    expect(judge(alone, [row(alone[0]!, 'failure', 'start_config_invalid')], { record: null, containers: [] })).toEqual([]);
    const after = [request(0, 'start', A), request(1, 'restart')];
    expect(judge(after, [row(after[0]!, 'success'), row(after[1]!, 'failure', 'start_config_invalid')], runningOn(A))).toEqual([
      expect.stringMatching(/request 1 .*:start_config_invalid.*: not an allowed end/),
    ]);
  });

  it('flags a row of no accepted request, but not the inner start of a restart nor the reconciler', () => {
    const q = [request(0, 'start', A), request(1, 'restart')];
    const inner = row(q[1]!, 'success', '', { op_kind: 'start' });
    const reconciler = row(q[0]!, 'success', '', { op_kind: 'reconcile', op_source: 'reconciler', source_ref: 'reconcile' });
    const rows = [row(q[0]!, 'success'), inner, row(q[1]!, 'success'), reconciler];
    expect(judge(q, rows, runningOn(A))).toEqual([]);
    const stray = row(q[0]!, 'success', '', { op_kind: 'stop', source_ref: 'someone-else job:g1#1' });
    expect(judge(q, [...rows, stray], runningOn(A))).toEqual([expect.stringMatching(/rows of no accepted request: #\d+ stop/)]);
  });

  it('checks records and containers agree whatever the requests', () => {
    const q = [request(0, 'start', A), request(1, 'start', B)];
    const rows = [row(q[0]!, 'success'), row(q[1]!, 'failure', 'conflict')];
    const orphan = { record: stopped.record, containers: [{ id: 'c9', name: `galaxy-game-${GAME}`, running: true, imageLabel: A }] };
    expect(judge(q, rows, orphan)).toEqual([expect.stringMatching(/a container runs though the record is stopped/)]);
    const mislabelled = { ...runningOn(A), containers: [{ id: 'c1', name: `galaxy-game-${GAME}`, running: true, imageLabel: B }] };
    expect(judge(q, rows, mislabelled)).toEqual([expect.stringMatching(/image label is not the record's image/)]);
  });

  it('lets a stop end with no record only when nothing ever started', () => {
    const q = [request(0, 'stop')];
    expect(judge(q, [row(q[0]!, 'success', 'replay_no_op')], { record: null, containers: [] })).toEqual([]);
    const started = [request(0, 'start', A), request(1, 'stop')];
    expect(judge(started, [row(started[0]!, 'success'), row(started[1]!, 'success')], { record: null, containers: [] })).toEqual([
      expect.stringMatching(/so the game must be stopped/),
    ]);
  });

  it('draws plans within the sizing: 2-6 requests, games 0-2, only starts on the stream, JSON round-trips', () => {
    for (const plan of fc.sample(planArb, { numRuns: 300, seed: 19 })) {
      expect(plan.requests.length).toBeGreaterThanOrEqual(2);
      expect(plan.requests.length).toBeLessThanOrEqual(6);
      for (const r of plan.requests) {
        expect([0, 1, 2]).toContain(r.game);
        if (r.via === 'stream') expect(r.kind).toBe('start');
      }
      expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    }
  });
});
