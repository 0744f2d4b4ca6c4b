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
  const options = { level, base: { service: 'rtmanager', pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
