import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../domain/ports.js';

/**
 * JSON lines on stdout (or `destination`); pino's `(fields, message)` is
 * already the port's shape, and its `child` is again a port Logger.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'rtmanager', pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
