import { pino } from 'pino';
import type { Logger } from '../domain/ports.js';

/** JSON lines on stdout; pino's `(fields, message)` is already the port's shape. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'rtmanager', pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
