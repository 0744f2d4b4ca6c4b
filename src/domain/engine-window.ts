/**
 * The operator's window on an engine (contract §16): what the engine port's
 * `stats` and `openLogs` answer. Shapes only; the port is engine-port.ts.
 */

/**
 * One reading of a running engine's use (contract §16), as `docker stats`
 * shows it. On a cluster, read from the daemon of the node it runs on.
 */
export interface EngineStats {
  /** Of one CPU, as `docker stats` counts it: 100 is one CPU busy, 200 two; over about a second. */
  cpuPercent: number;
  /** In use, without the page cache the kernel can reclaim (`docker stats`' figure). */
  memoryBytes: number;
  /** The container's memory limit; the machine's memory when it has none. */
  memoryLimitBytes: number;
  pids: number;
  /** Received and sent on all its networks since it started. */
  netRxBytes: number;
  netTxBytes: number;
  /** When the daemon took the reading. */
  readAt: Date;
}

/** Which of the engine's outputs a log line came from. */
export type LogStreamName = 'stdout' | 'stderr';

/**
 * One line of an engine's output (contract §16), as the bounds of log-lines.ts
 * leave it: at most LOG_LINE_MAX_BYTES of UTF-8, bytes that were not UTF-8
 * replaced by U+FFFD, without its newline.
 */
export interface LogLine {
  /** When Docker read the line from the engine: RFC 3339 in UTC, to the nanosecond where the engine says so. */
  ts: string;
  stream: LogStreamName;
  line: string;
  /** It was longer than LOG_LINE_MAX_BYTES: the rest of it is not there. */
  truncated: boolean;
}

/** What of a container's output to read (contract §16's `tail`, `since`, `follow`). */
export interface LogQuery {
  /** The last this many lines written before the read began (0: none). */
  tail: number;
  /** Only lines written at or after it; null: from the first. */
  since: Date | null;
  /** Then every line as the engine writes it, until the container stops. */
  follow: boolean;
}

/**
 * How a read of an engine's output ended: `complete`, every line asked for
 * was read (a read that does not follow); `stopped`, a followed container
 * stopped (also one that had stopped before the read), with its exit code
 * when it is known; `closed`, the reader's signal ended it first.
 */
export type LogsEnd = { kind: 'complete' } | { kind: 'stopped'; exitCode: number | null } | { kind: 'closed' };

/**
 * Where a read hands an engine's lines. A reader whose buffer is full would
 * drop the next line anyway: while `wants` says so, a line is passed over
 * whole, never decoded (`passed`), which is what keeps a paused reader from
 * costing the CPU a fast one needs.
 */
export interface LogSink {
  /** A whole line, each stream's lines in their order. */
  line(line: LogLine): void;
  /** False while a line would only be dropped. A sink without it takes every line. */
  wants?(): boolean;
  /** A line passed over because `wants` said no. */
  passed?(): void;
}

/** A container's output opened for reading (DockerEngine.openLogs). */
export interface EngineLogs {
  /**
   * Hands every line to `sink` as it arrives, without waiting on the caller
   * (a caller that cannot keep up drops, it does not slow the read). Settles
   * with how the read ended; throws when the daemon's stream breaks off.
   * Called once.
   */
  read(sink: LogSink): Promise<LogsEnd>;
}
