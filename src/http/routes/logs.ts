/**
 * Contract §16: a game's engine output, `GET /runtimes/{game_id}/logs`, as
 * NDJSON or (with `Accept: text/event-stream`) Server-Sent Events. The
 * record says which container; the engine port reads it (one engine's
 * container, a cluster's task); a LogBuffer stands between the two so a slow
 * reader costs a bounded buffer and dropped lines, not memory. The engine's
 * connection is closed as soon as the client goes away (the request's signal,
 * or the response body cancelled), the response finishes, or the process
 * shuts down.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { DockerEngine, EngineLogs, LogQuery, LogsEnd } from '../../domain/engine-port.js';
import { errorMessage } from '../../domain/errors.js';
import type { RuntimeRecord } from '../../domain/model.js';
import type { RuntimeRecordStore } from '../../domain/ports.js';
import { fail, invalid } from '../answers.js';
import type { Env } from '../env.js';
import type { FollowerGate } from '../follower-gate.js';
import type { LogEvent, LogFormat } from '../log-buffer.js';
import { LogBuffer } from '../log-buffer.js';
import { gameIdParam, logsQuery } from '../schemas.js';

export interface LogRouteDeps {
  records: RuntimeRecordStore;
  engine: Pick<DockerEngine, 'openLogs'>;
  /** The process's ceiling on followed streams, shared with the other endpoints that follow. */
  followers: FollowerGate;
  /** RTMANAGER_LOG_STREAM_BUFFER_BYTES: what one stream holds for a reader that does not keep up. */
  logBufferBytes: number;
  /** Each line dropped for a slow reader (`rtmanager_log_lines_dropped_total`). */
  onLogLineDropped?: () => void;
  /** Fires when the process shuts down: every stream still open ends. */
  shutdown?: AbortSignal;
}

const CONTENT_TYPES: Record<LogFormat, string> = { ndjson: 'application/x-ndjson; charset=utf-8', sse: 'text/event-stream; charset=utf-8' };

export function logRoutes(deps: LogRouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/runtimes/:game_id/logs', (c) => logsRoute(c, deps));
  return app;
}

async function logsRoute(c: Context<Env>, deps: LogRouteDeps): Promise<Response> {
  const gameId = gameIdParam.safeParse(c.req.param('game_id'));
  if (!gameId.success) return invalid(c, 'game_id', gameId.error);
  const parsed = logsQuery.safeParse(c.req.query());
  if (!parsed.success) return invalid(c, 'query', parsed.error);
  const query: LogQuery = { tail: parsed.data.tail, since: parsed.data.since ?? null, follow: parsed.data.follow };
  const record = await deps.records.get(gameId.data);
  if (!record) return fail(c, 'not_found', `no runtime record for game ${gameId.data}`);

  const leave = query.follow ? deps.followers.tryEnter() : () => undefined;
  if (!leave) {
    c.header('Retry-After', '1');
    return fail(
      c,
      'unavailable',
      `${deps.followers.max} streams are already followed (RTMANAGER_LOG_STREAM_MAX_FOLLOWERS): retry later, or read without follow`,
    );
  }
  // Ends the engine's read: the client went away, the response is done, or the process stops.
  const done = new AbortController();
  const signal = AbortSignal.any([c.req.raw.signal, done.signal, ...(deps.shutdown ? [deps.shutdown] : [])]);
  let logs: EngineLogs | null;
  try {
    logs = record.currentContainerId ? await deps.engine.openLogs(record.currentContainerId, query, signal) : null;
  } catch (error) {
    leave();
    done.abort();
    return fail(c, 'unavailable', `the engine's logs cannot be read: ${errorMessage(error)}`);
  }
  const format: LogFormat = /\btext\/event-stream\b/.test(c.req.header('accept') ?? '') ? 'sse' : 'ndjson';
  const buffer = new LogBuffer(format, deps.logBufferBytes, deps.onLogLineDropped);
  const reading = logs ? logs.read(buffer) : Promise.resolve(withoutContainer(record, query));
  void reading
    .then(
      (end) => buffer.finish(lastEvent(end)),
      (error: unknown) => buffer.finish({ event: 'error', json: { error: { code: 'service_unavailable', message: errorMessage(error) } } }),
    )
    .finally(() => {
      leave();
      done.abort();
    });
  return new Response(responseBody(buffer, done), {
    status: 200,
    headers: { 'content-type': CONTENT_TYPES[format], 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  });
}

/** Pulled as the client takes it (the server waits for the socket to drain before it pulls again): nothing piles up here. */
function responseBody(buffer: LogBuffer, done: AbortController): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = await buffer.next();
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
      cancel() {
        done.abort();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A record with no container (stopped: the stop removed it; never started)
 * has no output to read; a follow of it ends at once, with the exit code the
 * record kept.
 */
function withoutContainer(record: RuntimeRecord, query: LogQuery): LogsEnd {
  return query.follow ? { kind: 'stopped', exitCode: record.lastExitCode } : { kind: 'complete' };
}

function lastEvent(end: LogsEnd): LogEvent | null {
  return end.kind === 'stopped' ? { event: 'end', json: { end: true, exit_code: end.exitCode } } : null;
}
