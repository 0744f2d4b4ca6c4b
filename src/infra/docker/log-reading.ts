/**
 * What reading a log stream from the daemon takes on either backend
 * (container-logs.ts, task-logs.ts): the query as Docker's parameters, a
 * deadline on the answer's headers only (a followed stream may rightly stay
 * quiet for hours), and the stream read through the frame parser until it
 * ends, breaks, or the reader's signal ends it.
 */
import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
import { DockerDeadlineExceeded } from '../../domain/errors.js';
import type { LogQuery, LogSink } from '../../domain/engine-port.js';
import type { DaemonRequests } from './daemon-requests.js';
import { DockerLogParser } from './log-frames.js';

/** Docker's log parameters: both streams, stamped; `since` as Docker takes it, unix seconds with a fraction. */
export function logParameters(query: LogQuery): Record<string, string> {
  return {
    stdout: '1',
    stderr: '1',
    timestamps: '1',
    tail: String(query.tail),
    follow: query.follow ? '1' : '0',
    ...(query.since ? { since: (query.since.getTime() / 1000).toFixed(3) } : {}),
  };
}

/**
 * One request under a deadline: `call` gets a signal that fires at the
 * deadline (DockerDeadlineExceeded) or when `signal` does. For a stream the
 * deadline is its headers': once `call` returns, the stream is the reader's
 * to end (pumpLogStream, through the same signal).
 */
export async function withDeadline<T>(op: string, deadlineMs: number, signal: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  const timer = setTimeout(() => controller.abort(new DockerDeadlineExceeded(op, deadlineMs)), deadlineMs);
  try {
    return await call(controller.signal);
  } catch (error) {
    throw controller.signal.reason instanceof DockerDeadlineExceeded ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
    // A follow polls for hours under one signal: no listener may pile up on it.
    signal.removeEventListener('abort', forward);
  }
}

/**
 * `POST /containers/{id}/wait` (`path` the container's): its exit code once
 * it is not running; null when the wait failed, or the daemon has no such
 * container. Asked beside a followed stream: it answers at the exit even when
 * the stop that caused it removes the container a moment later.
 */
export function waitForExit(daemon: DaemonRequests, path: string, signal: AbortSignal): Promise<number | null> {
  return daemon.json<{ StatusCode: number }>('POST', `${path}/wait`, { condition: 'not-running' }, signal).then(
    (answer) => answer?.StatusCode ?? null,
    () => null,
  );
}

/** `promise`'s value, or `fallback` when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export type StreamEnd = 'ended' | 'closed';

/**
 * Reads `body` through the frame parser into `sink` until it ends
 * (`ended`) or `signal` fires (`closed`, the connection destroyed); throws
 * when it breaks off, or the daemon wrote an error into it.
 */
export function pumpLogStream(body: Readable, tty: boolean, sink: LogSink, signal: AbortSignal): Promise<StreamEnd> {
  const parser = new DockerLogParser(tty, sink);
  return new Promise<StreamEnd>((resolve, reject) => {
    const close = () => {
      body.destroy();
      resolve('closed');
    };
    if (signal.aborted) return close();
    signal.addEventListener('abort', close, { once: true });
    body.on('data', (chunk: Uint8Array) => parser.write(chunk));
    finished(body, (error) => {
      signal.removeEventListener('abort', close);
      if (signal.aborted) return resolve('closed');
      if (error) return reject(new Error(`the engine's log stream broke off: ${error.message}`, { cause: error }));
      parser.end();
      if (parser.error) return reject(new Error(`docker: ${parser.error}`));
      resolve('ended');
    });
  });
}
