/**
 * Ports: what the domain needs from the world, named by role. Each has an
 * in-memory fake (test/fakes) and a real adapter (src/infra), held together by
 * one contract test suite (test/contracts).
 *
 * Adapters throw on infrastructure failure (daemon down, connection refused);
 * expected business answers (not found, network missing, lease held) are
 * return values, never exceptions.
 */
import type { EngineCrash, HealthEvent, NotificationIntent, OperationEntry, OpKind, RuntimeRecord, RuntimeStatus, StoredOperationEntry } from './model.js';

export interface RuntimeRecordPage {
  records: RuntimeRecord[];
  /** Opaque; null when there is no further page. */
  nextCursor: string | null;
}

export interface RuntimeRecordStore {
  get(gameId: string): Promise<RuntimeRecord | null>;
  /**
   * Writes the record carrying `fence`, the fencing number of the lease the
   * writer holds (stored as `lease_fence`). False, and nothing written, when
   * the stored row carries a higher fence: a newer operation owns the game.
   * An equal fence writes (one operation writes its row more than once).
   */
  upsert(record: RuntimeRecord, fence: number): Promise<boolean>;
  /**
   * The fence the game's record was last written with (`lease_fence`); 0 when
   * there is no record. Read after a write was refused, to raise the fence
   * counter past it (GameLeases.raiseFenceAbove).
   */
  leaseFence(gameId: string): Promise<number>;
  /** Ordered by game id; `cursor` is the previous page's `nextCursor`. */
  list(query: { status?: RuntimeStatus; limit: number; cursor?: string | null }): Promise<RuntimeRecordPage>;
}

export interface OperationLog {
  append(entry: OperationEntry): Promise<number>;
  /** Newest first. */
  listByGame(gameId: string, limit: number, opKind?: OpKind): Promise<StoredOperationEntry[]>;
  /**
   * Retention: deletes at most `limit` entries that finished strictly before
   * `before`, oldest first, and answers how many it deleted. Bounded so that
   * one call is one short statement; the caller loops until a call deletes
   * fewer than `limit`.
   */
  deleteOlderThan(before: Date, limit: number): Promise<number>;
}

export interface GameLeases {
  /**
   * Takes the game's lease when it is free (SET NX PX) and answers its
   * fencing number: strictly increasing per game across every holder, so a
   * write carrying it can be refused once a newer holder has written. Null
   * when the lease is held, by another token or by this same one: there is no
   * re-entrancy, every attempt of an operation presents a fresh token.
   * Fences never go back, even when the store behind them loses or rolls
   * back data (contract §14): the real adapter floors them at its clock.
   */
  tryAcquire(gameId: string, token: string, ttlMs: number): Promise<number | null>;
  /**
   * Makes every later acquisition's fence greater than `fence`; never lowers
   * anything. For a write refused by a record that carries a fence this port
   * never handed out as far as it knows — it went back in time — so the
   * game's next attempt gets past it instead of being refused again. True when
   * it had to raise (it was behind), false when its fences were above already
   * (the refusal came from a genuinely newer holder).
   */
  raiseFenceAbove(gameId: string, fence: number): Promise<boolean>;
  /** Extends the TTL while `token` still holds the lease; false when it does not (expired, released, taken by another). */
  renew(gameId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Compare-and-delete: releases only if `token` still holds it; true if released. */
  release(gameId: string, token: string): Promise<boolean>;
}

/**
 * Contract §15: the crash restarts the policy decided on, each handed on as
 * a restart operation of its game (op source `crash_policy`, in the game's
 * order) once its backoff has passed. Durable: a manager that dies while a
 * crash waits out its backoff leaves it scheduled.
 */
export interface CrashRestarts {
  /** Hands `crash` on in `delayMs`; a crash of the same container already waiting is not scheduled twice. */
  schedule(gameId: string, crash: EngineCrash, delayMs: number): Promise<void>;
}

/** Publishes to `runtime:health_events` and upserts the `health_snapshots` row. */
export interface HealthEvents {
  publish(event: HealthEvent): Promise<void>;
}

/** A health event as `runtime:health_events` holds it, under the id the stream gave its entry. */
export interface HealthEventEntry {
  /** The stream entry id, `{ms}-{seq}`: increasing, so a reader resumes after the last it saw. */
  id: string;
  event: HealthEvent;
}

/**
 * Reads `runtime:health_events` for the operator (contract §16's live
 * events): pages of what is there, and followers that wait for what comes.
 * What the stream holds is read as it is: an event type this version does
 * not know passes through, and `details` that are not a JSON object come as
 * `{"raw": …}`.
 */
export interface HealthEventsReader {
  /** Entries after `afterId` (`0-0`: from the first), oldest first, at most `count`. */
  readAfter(afterId: string, count: number): Promise<HealthEventEntry[]>;
  /** A follower of its own (the real one holds a Redis connection for its blocking reads): close it when done. */
  follow(): HealthEventsFollower;
}

export interface HealthEventsFollower {
  /** As readAfter, but when there is nothing after `afterId` yet, waits up to `waitMs` for it: [] when none came. Rejects once closed. */
  next(afterId: string, count: number, waitMs: number): Promise<HealthEventEntry[]>;
  /** Lets go of what it holds; a `next` under way rejects at once. */
  close(): void;
}

/** Publishes admin-only intents to `notification:intents`. */
export interface Notifications {
  publish(intent: NotificationIntent): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/**
 * Creates `{root}/{game_id}` with mode and owner; returns the host path.
 * Throws when that path exists and is not a real directory (a symbolic link,
 * a file): it is bind-mounted read-write into the engine, so whatever a link
 * there points to would be handed over (and chowned) instead.
 */
export interface StateDirectories {
  prepare(gameId: string): Promise<string>;
}

/** Best-effort diagnostics from the Lobby service; never changes an outcome. */
export interface LobbyDiagnostics {
  getGame(gameId: string): Promise<{ status: string; targetEngineVersion?: string }>;
}

export interface Telemetry {
  recordStartOutcome(outcome: string, errorCode: string, opSource: string): void;
  recordLeaseAcquireLatency(seconds: number): void;
  recordDockerOp(op: string, seconds: number): void;
  recordHealthEvent(eventType: string): void;
  recordNotificationIntent(notificationType: string): void;
  /** `rtmanager_stream_duplicates_total` (contract §14): a stream entry acknowledged without a new operation. Counted by the intake. */
  recordStreamDuplicate(): void;
}

/** pino-compatible: structured fields first, message second. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child(fields: Record<string, unknown>): Logger;
}
