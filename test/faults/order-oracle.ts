/**
 * The judge of the order property (test/faults/order.property.test.ts),
 * pure: what the sequences are, and what contract §14 ("the last accepted
 * request wins") says must hold once a sequence has settled, given what the
 * test read back (audit rows, record, containers). No I/O here, so the rules
 * are checked on hand-made histories too (test/unit/order-oracle.test.ts).
 *
 * Glossary (the header of the property test says the same, for its reader):
 * - accepted request: an HTTP POST answered 2xx (a 409 is not accepted), or a
 *   stream entry acknowledged by the intake without a refusal row (a row whose
 *   source_ref is the entry id itself). Requests are sent one at a time, each
 *   only after the previous was accepted or refused, so "the order in which
 *   they were accepted" is the order they were sent.
 * - a request's rows: audit rows of its game whose op_kind is its kind and
 *   whose source_ref is `{its source_ref} job:{game_id}#{attempt}` (HTTP: the
 *   body's source_ref; stream: the entry id). Restart and patch also write an
 *   inner `start` row with the same source_ref: not theirs, but attributed.
 * - retried row: failure with service_unavailable or internal_error, or a
 *   conflict whose message starts with "lease lost" (an attempt that lost its
 *   lease or job lock; another attempt carries the request on). Every other
 *   row of a request is TERMINAL.
 * - exactly one terminal row per accepted request, a request that joined a
 *   pending operation included (contract §14: every accepted request ends
 *   with an audit row). A request with none is reported with what it seems to
 *   have joined: the latest earlier request of its kind and image, which is
 *   allowed only when it is the one accepted just before it (nothing else in
 *   between); either way its end is judged as that operation's. The one
 *   allowance: in a sequence where a worker was killed or frozen, a job may
 *   run again after it wrote its rows (at-least-once), so extra terminal rows
 *   are tolerated when every terminal row of that request is a success.
 * - terminal codes allowed: success (''), replay_no_op, conflict, superseded;
 *   start_config_invalid only for a restart when no start or patch of its game
 *   succeeded before it (nothing to restart). superseded never on the last
 *   accepted request of a game (nothing later made it moot).
 * - the last accepted request, if its operation ended in success, decides the
 *   state: start/patch → record running with current_image_ref = its image and
 *   exactly one running container `galaxy-game-{id}` labelled
 *   com.galaxy.engine_image_ref = that image; restart → the same with the image
 *   of the latest start/patch accepted before it that succeeded; stop → record
 *   stopped (or none, if no start ever succeeded) and no running container.
 * - always: at most one running container of the game, and it is the one the
 *   record names, with the record's image; no running container unless the
 *   record says running; every row of the game (but the reconciler's) belongs
 *   to an accepted request, a restart/patch's inner start or a refused entry.
 */
import fc from 'fast-check';

export type Kind = 'start' | 'stop' | 'restart' | 'patch';
export type Via = 'http' | 'stream';

/** One request of a sequence, as generated: which game (0-2), what, from where, and the pause after it. */
export interface PlannedRequest {
  game: number;
  kind: Kind;
  /** Index into the sequence's two images (start and patch only). */
  image: 0 | 1;
  /** `stream` only for a start: runtime:start_jobs carries nothing else. */
  via: Via;
  gapMs: number;
}

export type WorkerFault =
  | { kind: 'none' }
  /** SIGKILL the worker `delayMs` after request `afterRequest` was accepted, and start another at once. */
  | { kind: 'kill'; afterRequest: number; delayMs: number }
  /** SIGSTOP it there, start another, SIGCONT the frozen one `frozenMs` later. */
  | { kind: 'freeze'; afterRequest: number; delayMs: number; frozenMs: number };

export interface Plan {
  requests: PlannedRequest[];
  /** The sequence's first image is a fresh pull through a pacing proxy (seconds), not a local image. */
  slowPull: boolean;
  worker: WorkerFault;
}

/*
 * Shrinking re-runs whole sequences against real processes (seconds each), so
 * it is steered to the few steps that matter: a choice shrinks to its first
 * option (a start, no gap, no fault) and the numbers inside an option do not
 * shrink at all (fc.noShrink): halving a gap or a fault's delay step by step
 * would cost a sequence per step and tell little.
 */
const kindArb = fc.oneof(
  { withCrossShrink: true },
  { weight: 3, arbitrary: fc.constant<Kind>('start') },
  { weight: 3, arbitrary: fc.constant<Kind>('stop') },
  { weight: 1, arbitrary: fc.constant<Kind>('restart') },
  { weight: 1, arbitrary: fc.constant<Kind>('patch') },
);

/** Mostly back to back (the interesting overlaps), sometimes a pause long enough for an operation to end. */
const gapArb = fc.oneof(
  { withCrossShrink: true },
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.noShrink(fc.integer({ min: 1, max: 400 })) },
  { weight: 1, arbitrary: fc.noShrink(fc.integer({ min: 400, max: 1_500 })) },
);

const requestArb: fc.Arbitrary<PlannedRequest> = fc
  .record({
    game: fc.integer({ min: 0, max: 2 }),
    kind: kindArb,
    image: fc.constantFrom<0 | 1>(0, 1),
    via: fc.constantFrom<Via>('http', 'stream'),
    gapMs: gapArb,
  })
  // Only starts travel the stream; a stop, restart or patch drawn with `stream` goes over HTTP.
  .map((r) => (r.kind === 'start' ? { ...r } : { ...r, via: 'http' as const }));

const delayArb = fc.noShrink(fc.integer({ min: 0, max: 1_500 }));
const afterArb = fc.noShrink(fc.integer({ min: 0, max: 5 }));

const workerFaultArb: fc.Arbitrary<WorkerFault> = fc.oneof(
  { withCrossShrink: true },
  { weight: 6, arbitrary: fc.constant<WorkerFault>({ kind: 'none' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('kill' as const), afterRequest: afterArb, delayMs: delayArb }).map((f) => ({ ...f })) },
  {
    weight: 1,
    // Frozen past the job lock (2 s) and the lease TTL (3 s) of the fault system: another worker takes over meanwhile.
    arbitrary: fc
      .record({
        kind: fc.constant('freeze' as const),
        afterRequest: afterArb,
        delayMs: delayArb,
        frozenMs: fc.noShrink(fc.integer({ min: 3_500, max: 5_000 })),
      })
      .map((f) => ({ ...f })),
  },
);

/**
 * 2-6 requests over 1-3 games; a slow pull in about a third of the sequences,
 * a worker fault in about a third. The number of games is drawn apart and the
 * requests folded onto them, so a third of the sequences put every request on
 * one game, where the orders interleave most (and shrinking tends to one game).
 * Plain objects throughout (fc.record makes null-prototype ones): a printed
 * counterexample is JSON that RTM_ORDER_EXAMPLE takes back.
 */
export const planArb: fc.Arbitrary<Plan> = fc
  .record({
    requests: fc.array(requestArb, { minLength: 2, maxLength: 6 }),
    worker: workerFaultArb,
    slowPull: fc.oneof({ withCrossShrink: true }, { weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    games: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ games, requests, worker, slowPull }) => ({ slowPull, worker, requests: requests.map((r) => ({ ...r, game: r.game % games })) }));

/** One line per request, for logs and failure messages: `g0 start(A) http +120ms`. */
export function describePlan(plan: Plan): string {
  const images = plan.slowPull ? ['P(slow)', 'A'] : ['A', 'B'];
  const steps = plan.requests.map((r, i) => {
    const image = r.kind === 'start' || r.kind === 'patch' ? `(${images[r.image]})` : '';
    const fault = plan.worker.kind !== 'none' && Math.min(plan.worker.afterRequest, plan.requests.length - 1) === i ? ` [${faultText(plan.worker)}]` : '';
    return `g${r.game} ${r.kind}${image} ${r.via}${r.gapMs ? ` +${r.gapMs}ms` : ''}${fault}`;
  });
  return steps.join(' ; ');
}

function faultText(fault: Exclude<WorkerFault, { kind: 'none' }>): string {
  return fault.kind === 'kill' ? `worker SIGKILL after ${fault.delayMs}ms` : `worker SIGSTOP after ${fault.delayMs}ms for ${fault.frozenMs}ms`;
}

/** An accepted request as the harness saw it. */
export interface AcceptedRequest {
  /** Position in the sequence (all games), for messages. */
  index: number;
  gameId: string;
  kind: Kind;
  /** start and patch: the image it names; stop and restart: null. */
  imageRef: string | null;
  via: Via;
  /** HTTP: the body's source_ref; stream: the entry id. */
  sourceRef: string;
}

/** An audit row, as GET …/operations answers it (only the fields judged). */
export interface AuditRow {
  id: number;
  op_kind: string;
  op_source: string;
  source_ref: string;
  image_ref: string;
  outcome: 'success' | 'failure';
  error_code: string;
  error_message: string;
  started_at: string;
  finished_at: string;
}

export interface GameRecord {
  status: string;
  current_container_id: string | null;
  current_image_ref: string | null;
}

/** A container of the game: named `galaxy-game-{id}`, or labelled with its game id. */
export interface GameContainer {
  id: string;
  name: string;
  running: boolean;
  /** com.galaxy.engine_image_ref */
  imageLabel: string | undefined;
}

export interface GameObservation {
  gameId: string;
  /** Accepted requests of this game, in the order they were accepted. */
  accepted: AcceptedRequest[];
  /** Source refs of this game's stream entries the intake refused (recorded, not accepted). */
  refused: string[];
  rows: AuditRow[];
  record: GameRecord | null;
  containers: GameContainer[];
  /** A worker was killed or frozen during the sequence. */
  faulted: boolean;
}

const RETRIED_CODES = new Set(['service_unavailable', 'internal_error']);
const TERMINAL_CODES = new Set(['', 'replay_no_op', 'conflict', 'superseded']);

export function isRetriedRow(row: AuditRow): boolean {
  if (row.outcome !== 'failure') return false;
  return RETRIED_CODES.has(row.error_code) || (row.error_code === 'conflict' && row.error_message.startsWith('lease lost'));
}

function rowsOf(request: AcceptedRequest, rows: AuditRow[], kind: string = request.kind): AuditRow[] {
  const prefix = `${request.sourceRef} job:${request.gameId}#`;
  return rows.filter((r) => r.op_kind === kind && r.source_ref.startsWith(prefix) && /^\d+$/.test(r.source_ref.slice(prefix.length)));
}

const rowText = (r: AuditRow) =>
  `#${r.id} ${r.op_kind} ${r.outcome}${r.error_code ? `:${r.error_code}` : ''} "${r.source_ref}"${r.error_message ? ` (${r.error_message.slice(0, 120)})` : ''}`;
const requestText = (q: AcceptedRequest) => `request ${q.index} (${q.kind}${q.imageRef ? ` ${q.imageRef}` : ''} via ${q.via}, source_ref ${q.sourceRef})`;

/**
 * Every problem found for one game, as sentences; empty when contract §14
 * holds. `outcomes` (out) maps each accepted request to the terminal row of
 * its operation, for the caller's log.
 */
export function judgeGame(game: GameObservation): { problems: string[]; outcomes: Map<AcceptedRequest, AuditRow | null> } {
  const problems: string[] = [];
  const outcomes = new Map<AcceptedRequest, AuditRow | null>();
  const { accepted, rows } = game;

  accepted.forEach((q, i) => {
    const own = rowsOf(q, rows);
    const terminal = own.filter((r) => !isRetriedRow(r)).sort((a, b) => a.id - b.id);
    if (terminal.length === 0) {
      const previous = accepted[i - 1];
      const twin = accepted
        .slice(0, i)
        .reverse()
        .find((p) => p.kind === q.kind && p.imageRef === q.imageRef);
      if (own.length > 0) {
        problems.push(`${requestText(q)} has no terminal row, only retried attempts: ${own.map(rowText).join('; ')}`);
      } else if (twin && twin === previous) {
        problems.push(
          `${requestText(q)} has no row of its own; it may have joined ${requestText(twin)}, accepted just before it, but must still end with a row`,
        );
      } else {
        problems.push(
          `${requestText(q)} has no row of its own, and may not have joined a pending operation: the request accepted before it on ${game.gameId} was ` +
            (previous ? requestText(previous) : 'none') +
            (twin ? `; it seems to have joined ${requestText(twin)}, across it` : ''),
        );
      }
      // Judged further as its poll answers: with the end of the operation it seems to have joined, if any.
      outcomes.set(q, twin ? (outcomes.get(twin) ?? null) : null);
      return;
    }
    const extraAllowed = game.faulted && terminal.every((r) => r.outcome === 'success');
    if (terminal.length > 1 && !extraAllowed) problems.push(`${requestText(q)} has ${terminal.length} terminal rows: ${terminal.map(rowText).join('; ')}`);
    outcomes.set(q, terminal[0]!);
  });

  accepted.forEach((q, i) => {
    const row = outcomes.get(q);
    if (!row) return;
    const earlierSuccess = accepted.slice(0, i).some((p) => (p.kind === 'start' || p.kind === 'patch') && outcomes.get(p)?.outcome === 'success');
    const allowed = TERMINAL_CODES.has(row.error_code) || (row.error_code === 'start_config_invalid' && q.kind === 'restart' && !earlierSuccess);
    if (!allowed) problems.push(`${requestText(q)} ended ${rowText(row)}: not an allowed end (success, replay_no_op, conflict, superseded)`);
    if ((row.outcome === 'success') !== (row.error_code === '' || row.error_code === 'replay_no_op'))
      problems.push(`${requestText(q)}: row ${rowText(row)} mixes outcome and code`);
    if (row.error_code === 'superseded' && i === accepted.length - 1)
      problems.push(`${requestText(q)} is the last accepted request of ${game.gameId} and was superseded`);
  });

  problems.push(...unattributedRows(game), ...stateProblems(game), ...lastRequestProblems(game, outcomes));
  return { problems, outcomes };
}

/** Rows of the game that no accepted request, inner start or refused entry accounts for (the reconciler's are its own). */
function unattributedRows(game: GameObservation): string[] {
  const known = new Set<number>();
  for (const q of game.accepted) {
    for (const r of rowsOf(q, game.rows)) known.add(r.id);
    if (q.kind === 'restart' || q.kind === 'patch') for (const r of rowsOf(q, game.rows, 'start')) known.add(r.id);
  }
  const stray = game.rows.filter(
    (r) => !known.has(r.id) && !game.refused.includes(r.source_ref) && r.op_source !== 'reconciler' && r.op_source !== 'crash_policy',
  );
  return stray.length ? [`${game.gameId}: rows of no accepted request: ${stray.map(rowText).join('; ')}`] : [];
}

/** Records and containers agree, whatever the requests were. */
function stateProblems(game: GameObservation): string[] {
  const problems: string[] = [];
  const running = game.containers.filter((c) => c.running);
  const where = `${game.gameId} (record ${JSON.stringify(game.record)}, containers ${JSON.stringify(game.containers)})`;
  if (running.length > 1) problems.push(`${where}: ${running.length} running containers`);
  if (game.record?.status === 'running') {
    const named = running.find((c) => c.id === game.record!.current_container_id);
    if (!named) problems.push(`${where}: the record says running but its container does not run`);
    else if (named.imageLabel !== game.record.current_image_ref) problems.push(`${where}: the running container's image label is not the record's image`);
  } else if (running.length > 0) {
    problems.push(`${where}: a container runs though the record is ${game.record?.status ?? 'absent'}`);
  }
  return problems;
}

/** The state the last accepted request asked for, when it ended in success. */
function lastRequestProblems(game: GameObservation, outcomes: Map<AcceptedRequest, AuditRow | null>): string[] {
  const last = game.accepted.at(-1);
  if (!last || outcomes.get(last)?.outcome !== 'success') return [];
  const where = `${game.gameId}: the last accepted request, ${requestText(last)}, succeeded`;
  const seen = `the record is ${JSON.stringify(game.record)}, containers ${JSON.stringify(game.containers)}`;
  const running = game.containers.filter((c) => c.running);
  if (last.kind === 'stop') {
    const everStarted = game.rows.some((r) => r.op_kind === 'start' && r.outcome === 'success' && r.error_code === '');
    const recordOk = game.record ? game.record.status === 'stopped' : !everStarted;
    return recordOk && running.length === 0 ? [] : [`${where}, so the game must be stopped; ${seen}`];
  }
  let image = last.imageRef;
  if (last.kind === 'restart') {
    const before = game.accepted.slice(0, game.accepted.indexOf(last));
    image = before.filter((p) => (p.kind === 'start' || p.kind === 'patch') && outcomes.get(p)?.outcome === 'success').at(-1)?.imageRef ?? null;
    if (!image) return [`${where}, though no start or patch succeeded before it: nothing to restart`];
  }
  const container = running.length === 1 ? running[0]! : undefined;
  const ok =
    game.record?.status === 'running' &&
    game.record.current_image_ref === image &&
    container?.name === `galaxy-game-${game.gameId}` &&
    container.imageLabel === image &&
    container.id === game.record.current_container_id;
  return ok ? [] : [`${where}, so the game must run ${image} in one container galaxy-game-${game.gameId}; ${seen}`];
}
