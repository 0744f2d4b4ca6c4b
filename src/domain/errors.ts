/**
 * The contract's stable error codes (§4) as a closed union. Codes, not
 * classes, cross process boundaries: a BullMQ job result, an HTTP body and an
 * audit row all carry the same string.
 */
export const ERROR_CODES = [
  'replay_no_op',
  'start_config_invalid',
  'service_unavailable',
  'conflict',
  'image_pull_failed',
  'container_start_failed',
  'internal_error',
  'superseded',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
export type FailureCode = Exclude<ErrorCode, 'replay_no_op'>;

export const LEASE_BUSY_MESSAGE = 'another lifecycle operation is in progress for this game';
/** A record write refused for its fence (contract §10): retryable, as a busy lease is. */
export const LEASE_LOST_MESSAGE = 'lease lost: a newer operation owns this game';

/**
 * Why a `conflict` is about the game's lease, which makes it retryable
 * (contract §4, §10): another operation holds it (`lease_busy`: the jobs
 * layer waits and asks again) or a newer holder took it (`lease_lost`). A
 * conflict with neither (the game runs another image) is permanent. Carried
 * by the Failure and the Result, so no reader decides from the message.
 */
export type LeaseConflict = 'lease_busy' | 'lease_lost';

/**
 * Contract §4: retryable are `service_unavailable`, `internal_error` and the
 * lease `conflict`. A conflict on image (the game runs another image) is
 * permanent, so `conflict` alone does not decide: the caller says which.
 */
export function isRetryableFailure(code: FailureCode, lease?: LeaseConflict): boolean {
  if (code === 'service_unavailable' || code === 'internal_error') return true;
  return code === 'conflict' && lease !== undefined;
}

/**
 * The lease reason of a `conflict` read back from its audit row (request-ends.ts).
 * The row has the contract's columns only (§11: a code and a message, no
 * reason), so the one message each reason is written with is what tells it:
 * the single place a message decides, and only for a row, never a Result.
 */
export function leaseConflictOfRow(row: { errorCode: string; errorMessage: string }): LeaseConflict | undefined {
  if (row.errorCode !== 'conflict') return undefined;
  if (row.errorMessage === LEASE_BUSY_MESSAGE) return 'lease_busy';
  return row.errorMessage.startsWith(LEASE_LOST_MESSAGE) ? 'lease_lost' : undefined;
}

/** The message of anything thrown: an Error's own, anything else as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Contract §12: what a daemon or registry said is cut to this many UTF-8 bytes before it becomes an `error_message`. */
export const ERROR_MESSAGE_MAX_BYTES = 1024;
const TRUNCATED = '… (truncated)';
const utf8 = new TextEncoder();

/**
 * A failure's message as the API, the operation log and the notification
 * carry it: at most ERROR_MESSAGE_MAX_BYTES. A daemon echoes what it was
 * given (a registry's error body, a long name) and that text lands in a
 * table row, a stream entry and a job result each time the operation fails.
 * Cut on a character boundary, never inside a multi-byte one; a message
 * already within the bound is returned as it is, so cutting twice changes nothing.
 */
export function truncateMessage(message: string, maxBytes = ERROR_MESSAGE_MAX_BYTES): string {
  const bytes = utf8.encode(message);
  if (bytes.length <= maxBytes) return message;
  let cut = Math.max(0, maxBytes - utf8.encode(TRUNCATED).length);
  // A continuation byte (10xxxxxx) at the cut means a character straddles it: leave that character out whole.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return `${new TextDecoder().decode(bytes.subarray(0, cut))}${TRUNCATED}`;
}

/**
 * The Result of an operation that found its game's lease held by another:
 * the jobs layer waits and asks again instead of spending an attempt.
 * Known by its coded reason, not its message.
 */
export function isLeaseBusy(result: { outcome: string; errorCode: string | null; retryable: boolean; lease?: LeaseConflict }): boolean {
  return result.outcome === 'failure' && result.errorCode === 'conflict' && result.retryable && result.lease === 'lease_busy';
}

const DOCKER_DEADLINE = 'docker_deadline_exceeded';

/**
 * A Docker call that outlived its deadline (RTMANAGER_DOCKER_TIMEOUT_MS).
 * The daemon may still finish it, so it is no verdict on the request: the
 * operation fails `service_unavailable` (retryable) whatever the step's own
 * code for a refusal would be, and the re-run converges on what the daemon
 * did. Pulls have deadlines of their own and fail `image_pull_failed`.
 * Known by its code, not its class, like every failure that crosses a layer.
 */
export class DockerDeadlineExceeded extends Error {
  readonly code = DOCKER_DEADLINE;

  constructor(op: string, ms: number) {
    super(`docker ${op} did not answer within ${ms} ms`);
    this.name = 'DockerDeadlineExceeded';
  }
}

export function isDockerDeadline(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DOCKER_DEADLINE;
}

const NAME_TAKEN = 'container_name_taken';

/**
 * A create refused because a container (on a swarm, a service) of that name
 * exists, though the converge step found none a moment before, under the
 * game's lease. The likeliest maker is an earlier attempt whose create
 * outlived its deadline (DockerDeadlineExceeded) and which the daemon carried
 * out after all: so this too is no verdict, the operation fails
 * `service_unavailable` (retryable) and the re-run's converge step judges
 * that container (adopts it, replaces it, or refuses one we do not own).
 */
export class ContainerNameTaken extends Error {
  readonly code = NAME_TAKEN;

  constructor(name: string, detail: string) {
    super(`container name ${JSON.stringify(name)} was taken after this attempt looked for it: ${detail}`);
    this.name = 'ContainerNameTaken';
  }
}

export function isContainerNameTaken(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === NAME_TAKEN;
}

const DATABASE_DEADLINE = 'database_deadline_exceeded';

/**
 * A database call past RTMANAGER_DB_STATEMENT_TIMEOUT_MS (contract §14): the
 * server cancelled it (a statement too long, a lock waited on too long) or
 * never answered. No verdict on the request: the operation fails
 * `service_unavailable` (retryable) whatever the step's own code, its lease is
 * released, and an HTTP read answers 503. Known by its code, not its class.
 */
export class DatabaseDeadlineExceeded extends Error {
  readonly code = DATABASE_DEADLINE;

  constructor(call: string, ms: number, detail: string) {
    super(`database ${call} did not finish within ${ms} ms: ${detail}`);
    this.name = 'DatabaseDeadlineExceeded';
  }
}

export function isDatabaseDeadline(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DATABASE_DEADLINE;
}
