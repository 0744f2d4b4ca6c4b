/**
 * Contract §16's live events: the health events stream read for one
 * operator, optionally for one game — what is there, page by page, then
 * (when following) what comes, until the reader goes away.
 */
import type { HealthEventEntry, HealthEventsReader } from './ports.js';

export interface EventFeedOptions {
  /** Resume after this entry id (the client's Last-Event-ID); `0-0` from the first. */
  afterId: string;
  /** Only this game's events; every game's when absent. */
  gameId?: string;
  /** Keep waiting for new events once the stream's are sent. */
  follow: boolean;
  /** Fires when the reader has gone away (or the process is closing): the feed ends, its follower closed. */
  signal: AbortSignal;
  /** Entries read at once [500]. */
  pageSize?: number;
  /** How long one wait of the follower lasts before it asks again [5000]. */
  waitMs?: number;
}

const PAGE_SIZE = 500;
const WAIT_MS = 5_000;

/** The entries, oldest first; an entry of another game still moves the position on. */
export async function* healthEventFeed(reader: HealthEventsReader, opts: EventFeedOptions): AsyncGenerator<HealthEventEntry> {
  const pageSize = opts.pageSize ?? PAGE_SIZE;
  const wanted = (entry: HealthEventEntry) => opts.gameId === undefined || entry.event.gameId === opts.gameId;
  let cursor = opts.afterId;
  for (;;) {
    if (opts.signal.aborted) return;
    const page = await reader.readAfter(cursor, pageSize);
    for (const entry of page) {
      cursor = entry.id;
      if (wanted(entry)) yield entry;
    }
    if (page.length < pageSize) break;
  }
  if (!opts.follow || opts.signal.aborted) return;
  const follower = reader.follow();
  // A follower waits inside its read: closing it is what ends that wait when the reader goes.
  const close = () => follower.close();
  opts.signal.addEventListener('abort', close, { once: true });
  try {
    for (;;) {
      let batch: HealthEventEntry[];
      try {
        batch = await follower.next(cursor, pageSize, opts.waitMs ?? WAIT_MS);
      } catch (error) {
        if (opts.signal.aborted) return;
        throw error;
      }
      for (const entry of batch) {
        cursor = entry.id;
        if (wanted(entry)) yield entry;
      }
    }
  } finally {
    opts.signal.removeEventListener('abort', close);
    follower.close();
  }
}
