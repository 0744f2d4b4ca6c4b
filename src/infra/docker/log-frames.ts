/**
 * Docker's log stream (`timestamps=true`) into lines. Without a TTY the
 * daemon multiplexes stdout and stderr in frames, each an 8-byte header
 * (stream 1 stdout, 2 stderr, 3 the daemon's own error; 3 bytes of 0; the
 * payload's length, big-endian) and one log message: its timestamp, a space,
 * then the message (a line with its newline, or a piece of a longer one
 * without). A TTY's output is one stream with no frames: messages back to
 * back, each `timestamp message`. Either is parsed as it arrives, holding at
 * most a header, a timestamp and one line per stream.
 */
import { LineAssembler } from '../../domain/log-lines.js';
import type { LogSink } from '../../domain/engine-port.js';

const HEADER_BYTES = 8;
const SPACE = 0x20;
const NEWLINE = 0x0a;
/** RFC 3339 with nanoseconds is 30 characters; anything much longer before a space is no timestamp. */
const TIMESTAMP_MAX_BYTES = 64;

type Phase = 'header' | 'timestamp' | 'message';

export class DockerLogParser {
  private readonly lines: Record<1 | 2, LineAssembler>;
  private phase: Phase;
  private header = new Uint8Array(HEADER_BYTES);
  private headerFilled = 0;
  private stream: 1 | 2 | 3 = 1;
  /** Bytes left of the current frame (framed only). */
  private remaining = 0;
  private timestamp = '';
  private timestampBytes: number[] = [];
  private daemonError = '';

  constructor(
    private readonly tty: boolean,
    sink: LogSink,
  ) {
    this.lines = { 1: new LineAssembler('stdout', sink, tty), 2: new LineAssembler('stderr', sink, tty) };
    this.phase = tty ? 'timestamp' : 'header';
  }

  /** What the daemon wrote on its error stream (3), if anything: a stream that says so ended in failure. */
  get error(): string {
    return this.daemonError.trim();
  }

  write(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.phase === 'header') at = this.readHeader(chunk, at);
      else if (this.phase === 'timestamp') at = this.readTimestamp(chunk, at);
      else at = this.readMessage(chunk, at);
    }
  }

  /** The stream ended: each stream's last line without its newline is a line all the same. */
  end(): void {
    this.lines[1].end();
    this.lines[2].end();
  }

  private readHeader(chunk: Uint8Array, at: number): number {
    const take = Math.min(HEADER_BYTES - this.headerFilled, chunk.length - at);
    this.header.set(chunk.subarray(at, at + take), this.headerFilled);
    this.headerFilled += take;
    if (this.headerFilled === HEADER_BYTES) {
      this.headerFilled = 0;
      const kind = this.header[0];
      this.stream = kind === 2 ? 2 : kind === 3 ? 3 : 1;
      this.remaining = new DataView(this.header.buffer).getUint32(4);
      this.phase = this.remaining === 0 ? 'header' : this.stream === 3 ? 'message' : 'timestamp';
    }
    return at + take;
  }

  private readTimestamp(chunk: Uint8Array, at: number): number {
    const end = this.framed ? Math.min(chunk.length, at + this.remaining) : chunk.length;
    let i = at;
    while (i < end && chunk[i] !== SPACE && this.timestampBytes.length < TIMESTAMP_MAX_BYTES) this.timestampBytes.push(chunk[i++]!);
    const found = i < end && chunk[i] === SPACE;
    if (found) i++;
    this.consumed(i - at);
    if (found || this.timestampBytes.length >= TIMESTAMP_MAX_BYTES) {
      this.timestamp = String.fromCharCode(...this.timestampBytes);
      this.timestampBytes = [];
      this.phase = 'message';
    } else if (this.framed && this.remaining === 0) {
      this.phase = 'header';
    }
    return i;
  }

  private readMessage(chunk: Uint8Array, at: number): number {
    if (!this.framed) {
      // A TTY's message ends at its newline; the next one starts with its own timestamp.
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.lines[1].push(this.timestamp, chunk.subarray(at, end));
      if (newline !== -1) this.phase = 'timestamp';
      return end;
    }
    const end = Math.min(chunk.length, at + this.remaining);
    const piece = chunk.subarray(at, end);
    if (this.stream === 3) this.daemonError += new TextDecoder().decode(piece);
    else this.lines[this.stream].push(this.timestamp, piece);
    this.consumed(end - at);
    if (this.remaining === 0) this.phase = 'header';
    return end;
  }

  private get framed(): boolean {
    return !this.tty;
  }

  private consumed(bytes: number): void {
    if (this.framed) this.remaining -= bytes;
  }
}
