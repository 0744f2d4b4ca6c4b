/**
 * What one log stream holds for its reader (contract §16): the lines read
 * from the engine and not yet taken by the HTTP response, encoded (NDJSON or
 * Server-Sent Events), at most RTMANAGER_LOG_STREAM_BUFFER_BYTES of them.
 * The engine's stream is read as fast as it comes whatever the reader does,
 * so a reader that does not keep up never grows the server's memory: past
 * the bound lines are dropped, and where they were the reader finds
 * `{"dropped":N}` once it has caught up. Once one line is dropped, every
 * line is until the reader takes some of the queue: the engine's read then
 * passes lines over without decoding them (LogSink.wants), and the gap is
 * one gap, not lines that happened to fit scattered through it.
 */
import type { LogLine, LogSink } from '../domain/engine-port.js';

export type LogFormat = 'ndjson' | 'sse';

/** What the response carries besides the lines: the SSE event name, and the JSON (the NDJSON line). */
export interface LogEvent {
  event: 'log' | 'dropped' | 'end' | 'error';
  json: Record<string, unknown>;
}

/** A line as the contract writes it: `truncated` only when it was cut. */
export function lineJson(line: LogLine): Record<string, unknown> {
  return { ts: line.ts, stream: line.stream, line: line.line, ...(line.truncated ? { truncated: true } : {}) };
}

export function encodeEvent(format: LogFormat, { event, json }: LogEvent): string {
  const text = JSON.stringify(json);
  return format === 'sse' ? `event: ${event}\ndata: ${text}\n\n` : `${text}\n`;
}

/** The blocks the queue is written into, and the most one read of the response takes: one write, not one per line. */
const CHUNK_BYTES = 64 * 1024;

/**
 * The queue is bytes, written line after line into 64 KiB blocks, not a
 * Buffer (or a string) a line: a paused reader's full queue is thousands of
 * lines, and as small objects they cost the process several times their
 * bytes (measured: 10 paused followers beside a fast one, 40,000 lines of flood
 * three times, grew the web by 64 MB so and by 46 MB in blocks;
 * docs/benchmarks.md).
 */
export class LogBuffer implements LogSink {
  /** Blocks written full, oldest first: the next reads'. */
  private full: Buffer[] = [];
  /** The block being written: [start, filled) is queued, what is before `start` was taken. */
  private block: Buffer | null = null;
  private start = 0;
  private filled = 0;
  private bytes = 0;
  private dropped = 0;
  /** A line was dropped and the reader has taken nothing since. */
  private dropping = false;
  private finished = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly format: LogFormat,
    private readonly maxBytes: number,
    /** Each dropped line, as it is dropped (`rtmanager_log_lines_dropped_total`). */
    private readonly onDropped: () => void = () => undefined,
  ) {}

  /** Held now, in bytes of the response. */
  get size(): number {
    return this.bytes;
  }

  /** A line from the engine: queued, or dropped when the queue is full (an empty queue takes any line). */
  line(line: LogLine): void {
    if (this.finished) return;
    if (this.dropping) return this.passed();
    const encoded = encodeEvent(this.format, { event: 'log', json: lineJson(line) });
    const marker = this.dropped > 0 ? this.droppedMarker() : null;
    const size = byteLength(encoded);
    const markerSize = marker ? byteLength(marker) : 0;
    if (this.bytes > 0 && this.bytes + size + markerSize > this.maxBytes) return this.passed();
    if (marker) this.push(marker, markerSize);
    this.dropped = 0;
    this.push(encoded, size);
  }

  wants(): boolean {
    return !this.dropping && !this.finished;
  }

  /** A line dropped: counted, and told where the gap was once the reader catches up. */
  passed(): void {
    if (this.finished) return;
    this.dropped++;
    this.dropping = true;
    this.onDropped();
  }

  /** Nothing more will come: after what is queued (and any drops told), `last` if given, then the end of the response. */
  finish(last: LogEvent | null): void {
    if (this.finished) return;
    if (this.dropped > 0) this.push(this.droppedMarker());
    this.dropped = 0;
    if (last) this.push(encodeEvent(this.format, last));
    this.finished = true;
    this.wakeReader();
  }

  /** Up to CHUNK_BYTES of what is queued (at least one event), once there is some; null once finished and taken. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.bytes > 0) return this.take();
      // The reader caught up with a gap behind it: it hears how many lines the gap held.
      if (this.dropped > 0) {
        this.push(this.droppedMarker());
        this.dropped = 0;
        continue;
      }
      if (this.finished) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** The oldest full block, or what is queued of the one being written (which goes on being written after it). */
  private take(): Buffer {
    let taken = this.full.shift();
    if (!taken) {
      taken = this.block!.subarray(this.start, this.filled);
      this.start = this.filled;
    }
    this.bytes -= taken.length;
    this.dropping = false;
    return taken;
  }

  private droppedMarker(): string {
    return encodeEvent(this.format, { event: 'dropped', json: { dropped: this.dropped } });
  }

  /** `size`: the event's UTF-8 bytes, when the caller has counted them already (a line's, checked against the bound). */
  private push(encoded: string, size = byteLength(encoded)): void {
    if (!this.block || this.filled + size > this.block.length) {
      if (this.block && this.filled > this.start) this.full.push(this.block.subarray(this.start, this.filled));
      // A line's event can be longer than a block (16 KiB of control characters escaped six times over): a block its size.
      this.block = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, size));
      this.start = 0;
      this.filled = 0;
    }
    this.filled += this.block.write(encoded, this.filled);
    this.bytes += size;
    this.wakeReader();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');
