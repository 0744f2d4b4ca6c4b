import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../domain/ports.js';

/**
 * JSON lines on stdout (or `destination`); pino's `(fields, message)` is
 * already the port's shape, and its `child` is again a port Logger.
 *
 * Stdout is written asynchronously: pino's default is a synchronous write a
 * line, a system call for every request's access log at `info`. Lines written
 * while a write is under way are gathered into the next one; pino flushes
 * what is left synchronously when the process exits (process.exit included).
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'rtmanager', pid: process.pid, ...bindings }, timestamp: isoTime };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

let second = Number.NaN;
let secondIso = '';

/**
 * pino's `isoTime`, the same text (`,"time":"2026-12-07T12:00:00.123Z"`),
 * without a `Date.toISOString()` a line: the web writes an access log line a
 * request, and that call alone was about 5 % of its CPU a request. The
 * second's text is kept; only the milliseconds change within it.
 */
export function isoTime(): string {
  const now = Date.now();
  const ms = now % 1000;
  if (now - ms !== second) {
    second = now - ms;
    secondIso = new Date(second).toISOString().slice(0, 20);
  }
  return `,"time":"${secondIso}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}
