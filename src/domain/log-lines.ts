/**
 * Contract §16's bounds on one line of an engine's output, whichever engine
 * hands the bytes over (Docker's log stream, a cluster's, the test fake): a
 * line longer than LOG_LINE_MAX_BYTES is cut and marked, bytes that are not
 * UTF-8 become U+FFFD. Lines are assembled from bytes, and decoded only once
 * whole, so a character whose bytes arrive in two pieces (two frames, two
 * reads) is decoded as the one character it is.
 */
import type { LogSink, LogStreamName } from './engine-port.js';

/** 16 KiB of UTF-8: the most of one line a reader gets (Docker's own log messages are cut at the same size). */
export const LOG_LINE_MAX_BYTES = 16 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * One output stream's lines, from the pieces of it Docker hands over: each
 * piece stamped with when Docker read it, a line ending at each newline and
 * stamped with when its first piece was read. Holds at most one line's
 * LOG_LINE_MAX_BYTES between pieces, whatever the engine writes.
 */
export class LineAssembler {
  private pieces: Uint8Array[] = [];
  private size = 0;
  private truncated = false;
  private ts: string | null = null;
  // Not fatal: each byte that is not UTF-8 becomes U+FFFD.
  private readonly decoder = new TextDecoder('utf-8');

  /** `dropCarriageReturn`: a TTY writes `\r\n`; its `\r` is no part of the line. */
  constructor(
    private readonly stream: LogStreamName,
    private readonly sink: LogSink,
    private readonly dropCarriageReturn = false,
  ) {}

  /** A piece of the stream; every newline in it ends a line. */
  push(ts: string, bytes: Uint8Array): void {
    let start = 0;
    for (;;) {
      const newline = bytes.indexOf(NEWLINE, start);
      if (newline === -1) {
        // What follows the last newline begins the next line; nothing after it begins none.
        if (start < bytes.length) this.append(ts, bytes.subarray(start));
        return;
      }
      this.append(ts, bytes.subarray(start, newline));
      this.flush();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without its newline is a line all the same. */
  end(): void {
    if (this.ts !== null) this.flush();
  }

  private append(ts: string, piece: Uint8Array): void {
    this.ts ??= ts;
    const room = LOG_LINE_MAX_BYTES - this.size;
    if (piece.length > room) this.truncated = true;
    const kept = piece.length > room ? piece.subarray(0, room) : piece;
    if (kept.length === 0) return;
    // A copy: the caller's buffer may be reused, and holding a view would hold all of it.
    this.pieces.push(kept.slice());
    this.size += kept.length;
  }

  private flush(): void {
    if (this.sink.wants?.() === false) this.sink.passed?.();
    else this.sink.line({ ts: this.ts ?? '', stream: this.stream, line: this.decoder.decode(this.bytes()), truncated: this.truncated });
    this.pieces = [];
    this.size = 0;
    this.truncated = false;
    this.ts = null;
  }

  /** The line's bytes as a reader gets them: a cut character left out, a TTY's `\r` dropped. */
  private bytes(): Uint8Array {
    const bytes = joined(this.pieces, this.size);
    if (this.truncated) return withoutCutCharacter(bytes);
    if (this.dropCarriageReturn && bytes[bytes.length - 1] === CARRIAGE_RETURN) return bytes.subarray(0, -1);
    return bytes;
  }
}

function joined(pieces: Uint8Array[], size: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * A line cut at LOG_LINE_MAX_BYTES may end inside a character: that
 * character is left out whole, not turned into U+FFFD (its bytes were UTF-8;
 * only the cut broke them).
 */
function withoutCutCharacter(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    // 10xxxxxx: a continuation byte; the character began further back.
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}
