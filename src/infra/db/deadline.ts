/**
 * Contract §14, "nothing waits on the database forever", as the adapters see
 * it. On a Postgres server every session carries `statement_timeout` and
 * `lock_timeout` (client.ts), so the server itself cancels a statement that
 * runs or waits on a lock too long (SQLSTATE 57014 / 55P03) and rolls it back
 * for certain. A server that never answers (a partition, a hung backend) is
 * bounded here, on the client, a little after the server's own cancel would
 * have come. PGlite cancels nothing (its statement_timeout never fires), so
 * there this bound is the only one. Either way the call fails with
 * DatabaseDeadlineExceeded, which the domain and the HTTP layer know by code.
 */
import { DatabaseDeadlineExceeded } from '../../domain/errors.js';

export interface CallDeadline {
  /** RTMANAGER_DB_STATEMENT_TIMEOUT_MS, the bound the messages name. */
  readonly statementMs: number;
  /** How long a caller waits for any answer before giving up on its own. */
  readonly waitMs: number;
}

/** query_canceled (statement_timeout, or an operator's pg_cancel_backend) and lock_not_available (lock_timeout). */
const CANCELLED_BY_SERVER = new Set(['57014', '55P03']);

/**
 * Runs one adapter call under the deadline; null: no bound (a handle opened
 * without one). The call given up on is not stopped: postgres.js still holds
 * its connection until the server or TCP answers, and PGlite still runs it
 * once its single connection is free. The server's cancel stops it for real.
 */
export async function withinDeadline<T>(call: string, deadline: CallDeadline | null, work: () => PromiseLike<T>): Promise<T> {
  if (!deadline) return work();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseDeadlineExceeded(call, deadline.statementMs, `no answer after ${deadline.waitMs} ms`)), deadline.waitMs);
  });
  try {
    return await Promise.race([work(), gaveUp]);
  } catch (error) {
    const cancelled = serverCancel(error);
    if (cancelled) throw new DatabaseDeadlineExceeded(call, deadline.statementMs, cancelled);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The server's own words when it cancelled the statement, else null. drizzle wraps the driver's error as `cause`. */
function serverCancel(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CANCELLED_BY_SERVER.has(code)) return `${String(message)} (SQLSTATE ${code})`;
  }
  return null;
}
