/**
 * The enqueuer's port onto a game's order (enqueue.ts says the rules): it
 * decides, under the game's per-queue enqueue mutex, what a request becomes,
 * and hands out the deferred operations whose turn to become a job has come.
 * BullMQ stays on this side: the admission never removes a job, and adds
 * one only as the enqueuer prepared it (a fresh game's, prepared-add.ts, in
 * the step that decides); every other add is the enqueuer's, while the mutex
 * this port took is held.
 * Its Redis adapter is src/infra/redis/order-admission.ts.
 */
import type { PreparedAdd } from './prepared-add.js';
import type { LifecycleKind, LifecyclePayload, LifecycleQueue, QueueName } from './queues.js';

/** A stream entry's identity, for at-most-once (contract §14). */
export interface DedupKeys {
  entryId: string;
  requestId?: string;
}

/** Thrown when the per-game mutex could not be had or was held too long: nothing was added; retrying is safe. */
export class EnqueueBusyError extends Error {
  override readonly name = 'EnqueueBusyError';
}

/**
 * What a request becomes (a member is `{queue}/{seq}`, its place in the order):
 * duplicate · conflict (the pending image) · joined (member, carrier's source
 * ref, '1' if that operation's job is the id's job) · deferred (member) · add
 * (member, '1' if a finished job holds the id: remove it first) · added
 * (member: the prepared job is in its queue and the mutex released, in the
 * same step). `busy` never leaves the admission (it waits, then throws
 * EnqueueBusyError).
 */
export type Decision =
  | ['busy']
  | ['duplicate', string]
  | ['conflict', string]
  | ['joined', string, string, '0' | '1']
  | ['deferred', string]
  | ['add', string, '0' | '1']
  | ['added', string];

/** The oldest deferred operation of a queue: none · busy · wait · again (look again) · add (member, payload JSON, '1' if a finished job holds the id). */
export type Promotion = ['none'] | ['busy'] | ['wait'] | ['again'] | ['add', string, string, '0' | '1'];

/** The game's enqueue mutex for one queue, held. */
export interface EnqueueLock {
  readonly key: string;
  /** What was read is only true while the mutex is: throws EnqueueBusyError once the holder has been slow for half its TTL. */
  check(): void;
  /** Marks the request's entry and request id as seen when `mark` (the added member) is given, then lets go of the mutex. */
  release(mark: string): Promise<void>;
}

export interface AdmissionRequest {
  kind: LifecycleKind;
  queue: LifecycleQueue;
  payload: LifecyclePayload;
  dedup?: DedupKeys | undefined;
  /** The job to add when the decision is a fresh add (no job holds the id): added in the same step, which then answers `added`. */
  add?: PreparedAdd | undefined;
}

export interface OrderAdmission {
  /** Takes the mutex (waiting for it at most the configured wait, else EnqueueBusyError) and decides, in one step. */
  admit(request: AdmissionRequest): Promise<{ decision: Decision; lock: EnqueueLock }>;
  /** An added member whose job could not be added: its place goes now, rather than when a looker drops it. */
  giveBack(gameId: string, member: string): Promise<void>;
  /** The oldest deferred operation of the queue; with the mutex held when the answer is `add`. */
  claimDeferred(kind: LifecycleKind, queue: LifecycleQueue, gameId: string): Promise<{ promotion: Promotion; lock: EnqueueLock }>;
  /** The claimed deferred operation is a job now. */
  promoted(gameId: string, member: string): Promise<void>;
  /** The queues in which the game has a deferred operation (the game leaves the sweep's set when none). */
  deferredQueues(gameId: string): Promise<string[]>;
  /** Whether the game has an operation deferred in this queue. */
  hasDeferred(queue: QueueName, gameId: string): Promise<boolean>;
  /** Up to `limit` games with a deferred operation. */
  gamesWithDeferred(limit: number): Promise<string[]>;
}
