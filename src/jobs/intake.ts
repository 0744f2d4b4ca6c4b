/**
 * The stream intake: consumes `runtime:start_jobs` in the consumer group
 * `rtmanager` and turns each entry into a `start-runtime` job. An entry is
 * acknowledged only once its job is enqueued (or joined), or once its refusal
 * has its audit row — so a crash between the two re-delivers the entry.
 *
 * A re-delivered entry must not start the game again: by then its job may
 * have ended and a stop been accepted, and a new start would undo that stop
 * (contract §14: an entry runs at most once). So every enqueue carries the
 * entry id and the lobby's request id, and the enqueuer answers `duplicate`
 * for one it has already accepted for this game within the dedup window; the
 * intake then acknowledges the entry and counts it, nothing more. The same
 * covers an entry XAUTOCLAIM took from a consumer that was only slow, and a
 * lobby re-sending its request (same request id) as a new entry. A poison
 * entry is recorded and acknowledged, never retried forever.
 *
 * Here: what an entry becomes. Reading the stream (consumer group, claims,
 * acknowledgements) is src/infra/redis/stream-consumer.ts; the composition
 * root joins the two (src/composition/intake.ts).
 */
import type { RequestOpSource } from '../domain/model.js';
import { isRequestOpSource } from '../domain/model.js';
import type { Logger, Telemetry } from '../domain/ports.js';
import type { DedupKeys } from './order-admission.js';
import { startPayloadSchema } from './queues.js';

export const INTAKE_GROUP = 'rtmanager';

export interface StartRequest {
  gameId: string;
  imageRef: string;
  opSource: RequestOpSource;
  sourceRef: string;
  requestId?: string;
}

/** A stream entry's identity (enqueue.ts remembers it for RTMANAGER_STREAM_DEDUP_WINDOW_MS): the entry id always, the lobby's request id when given. */
export type StreamDedup = DedupKeys;

export type IntakeEnqueueOutcome =
  | { kind: 'enqueued' | 'joined' | 'deferred'; jobId: string }
  /** This entry (or its request id) was already accepted for this game: nothing was added. */
  | { kind: 'duplicate'; jobId: string }
  | { kind: 'conflict'; pendingImageRef: string };

/**
 * Test-only: called once an entry's enqueue has answered and before its
 * XACK, the window a crash leaves the entry pending though its operation was
 * accepted (the fault test kills the intake there).
 */
export type AfterEnqueueHook = (entryId: string, gameId: string) => void | Promise<void>;

/** A running intake. */
export interface Intake {
  stop(): Promise<void>;
  /** Resolves after the consumer group exists: the intake is listening. */
  ready: Promise<void>;
  /** True from `ready` until its loop ends (stopped, or the group could not be made). */
  listening(): boolean;
}

export interface StartEntryDeps {
  /**
   * Enqueues (or joins) the start, unless `dedup` was already accepted for
   * this game (`duplicate`); throws when the queue cannot be reached.
   */
  enqueue(request: StartRequest, dedup: StreamDedup): Promise<IntakeEnqueueOutcome>;
  /**
   * Records a refused entry (audit + notification) through the domain;
   * `message` says why. Throws when the audit row could not be written: the
   * entry then stays pending, and a later claim records it.
   */
  reject(request: StartRequest, code: 'start_config_invalid' | 'conflict', message: string): Promise<void>;
  telemetry: Pick<Telemetry, 'recordStreamDuplicate'>;
  afterEnqueue?: AfterEnqueueHook | undefined;
}

/**
 * One entry of the start stream: enqueued, joined, a duplicate or refused.
 * Resolves once the entry may be acknowledged; throws when it must stay pending.
 */
export async function handleStartEntry(deps: StartEntryDeps, log: Logger, id: string, fields: string[]): Promise<void> {
  const map = fieldsToMap(fields);
  const entryLog = log.child({ entry_id: id, game_id: (map.game_id ?? '').slice(0, 128) });
  const parsed = parseStartEntry(id, map);
  if (!parsed.ok) {
    entryLog.warn({ fields: Object.keys(map), problem: parsed.problem }, 'invalid start entry recorded and acknowledged');
    await deps.reject(parsed.recorded, 'start_config_invalid', parsed.problem);
    return;
  }
  const request = parsed.request;
  const outcome = await deps.enqueue(request, { entryId: id, ...(request.requestId ? { requestId: request.requestId } : {}) });
  await deps.afterEnqueue?.(id, request.gameId);
  if (outcome.kind === 'duplicate') {
    // Expected after a crash or a lobby's re-send: info, not a warning.
    entryLog.info({ job_id: outcome.jobId, request_id: request.requestId ?? null }, 'duplicate start entry acknowledged without a new operation');
    deps.telemetry.recordStreamDuplicate();
    return;
  }
  if (outcome.kind === 'conflict') {
    const message = `a start with image_ref ${JSON.stringify(outcome.pendingImageRef)} is already pending for this game`;
    entryLog.warn({ pending_image_ref: outcome.pendingImageRef }, 'start entry conflicts with a pending start');
    await deps.reject(request, 'conflict', message);
    return;
  }
  entryLog.debug({ job_id: outcome.jobId, kind: outcome.kind }, 'start entry enqueued');
}

/** Stream field names, for the refusal message. */
const FIELD_OF: Record<string, string> = { gameId: 'game_id', imageRef: 'image_ref', opSource: 'op_source', requestId: 'request_id' };

/**
 * Parsed with the start job's own payload schema, so an entry that passes
 * here never fails the worker's parse (which would end in an
 * UnrecoverableError and no audit row). A refused entry is recorded under
 * the stream's own op source when the one it named is not one of ours: an
 * unknown value never reaches a metric label or the table.
 */
function parseStartEntry(
  id: string,
  map: Record<string, string>,
): { ok: true; request: StartRequest } | { ok: false; recorded: StartRequest; problem: string } {
  const raw = {
    gameId: map.game_id ?? '',
    imageRef: map.image_ref ?? '',
    opSource: map.op_source ?? 'lobby_stream',
    sourceRef: id,
    // An empty request id is no request id, as an absent one.
    ...(map.request_id ? { requestId: map.request_id } : {}),
  };
  const parsed = startPayloadSchema.safeParse(raw);
  if (parsed.success) return { ok: true, request: parsed.data };
  const problem = parsed.error.issues.map((i) => `${FIELD_OF[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; ');
  const opSource = isRequestOpSource(raw.opSource) ? raw.opSource : 'lobby_stream';
  return { ok: false, recorded: { gameId: raw.gameId, imageRef: raw.imageRef, opSource, sourceRef: id }, problem };
}

function fieldsToMap(fields: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  return map;
}
