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

export function encodeEvent(format: LogFormat, { event, json }: LogEvent): Buffer {
  const text = JSON.stringify(json);
  return Buffer.from(format === 'sse' ? `event: ${event}\ndata: ${text}\n\n` : `${text}\n`);
}

/** How much of the queue one read of the response takes at most: one write, not one per line. */
const CHUNK_BYTES = 64 * 1024;

export class LogBuffer implements LogSink {
  private queue: Buffer[] = [];
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
    if (this.queue.length > 0 && this.bytes + encoded.length + (marker?.length ?? 0) > this.maxBytes) return this.passed();
    if (marker) this.push(marker);
    this.dropped = 0;
    this.push(encoded);
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
      if (this.queue.length > 0) return this.take();
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

  private take(): Buffer {
    let count = 0;
    let size = 0;
    while (count < this.queue.length && (count === 0 || size + this.queue[count]!.length <= CHUNK_BYTES)) size += this.queue[count++]!.length;
    const taken = this.queue.splice(0, count);
    this.bytes -= size;
    this.dropping = false;
    return taken.length === 1 ? taken[0]! : Buffer.concat(taken, size);
  }

  private droppedMarker(): Buffer {
    return encodeEvent(this.format, { event: 'dropped', json: { dropped: this.dropped } });
  }

  private push(encoded: Buffer): void {
    this.queue.push(encoded);
    this.bytes += encoded.length;
    this.wakeReader();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
