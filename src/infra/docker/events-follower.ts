/**
 * Follows the engine's event stream for our containers (die, oom) and hands
 * each event on. When the stream ends — the daemon restarted, the socket
 * broke — it reconnects with exponential backoff and then calls
 * `onReconnect`, because events missed while away are only recovered by a
 * full reconcile.
 */
import type Dockerode from 'dockerode';
import type { Logger } from '../../domain/ports.js';
import { errorMessage } from '../../domain/errors.js';

export interface EngineEvent {
  action: string;
  containerId: string;
  labels: Record<string, string>;
  time: Date;
}

export interface FollowOptions {
  docker: Dockerode;
  labels: Record<string, string>;
  actions?: string[];
  onEvent: (event: EngineEvent) => Promise<void>;
  onReconnect?: () => Promise<void>;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface EventsFollower {
  /** Resolves once the first subscription is open. */
  connected: Promise<void>;
  stop(): Promise<void>;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export function followEngineEvents(opts: FollowOptions): EventsFollower {
  const log = opts.logger.child({ component: 'docker-events' });
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5_000;
  let stopping = false;
  let current: (NodeJS.ReadableStream & { destroy?: () => void }) | null = null;
  let wake: (() => void) | null = null;
  let markConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => {
    markConnected = resolve;
  });

  const loop = (async () => {
    let backoff = minBackoff;
    let everConnected = false;
    while (!stopping) {
      try {
        const stream = await opts.docker.getEvents({
          filters: {
            type: ['container'],
            event: opts.actions ?? ['die', 'oom'],
            label: Object.entries(opts.labels).map(([k, v]) => `${k}=${v}`),
          },
        });
        current = stream;
        if (everConnected) {
          log.info({}, 'docker events reconnected; running a full reconcile');
          await opts.onReconnect?.().catch((error: unknown) => log.error({ err: String(error) }, 'reconcile after reconnect failed'));
        }
        everConnected = true;
        markConnected();
        backoff = minBackoff;
        await consume(stream);
      } catch (error) {
        if (stopping) break;
        log.warn({ err: errorMessage(error), retry_in_ms: backoff }, 'docker events unavailable');
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      backoff = Math.min(maxBackoff, backoff * 2);
    }
  })();

  /** Reads JSON lines until the stream ends; a line may span chunks. */
  function consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffer = '';
      stream.on('data', (chunk: Buffer | string) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) dispatch(line);
        }
      });
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', (error: Error) => reject(error));
    });
  }

  function dispatch(line: string): void {
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      log.warn({ line: line.slice(0, 200) }, 'unparseable docker event');
      return;
    }
    const event: EngineEvent = {
      action: raw.Action ?? raw.status ?? '',
      containerId: raw.Actor?.ID ?? raw.id ?? '',
      labels: raw.Actor?.Attributes ?? {},
      time: raw.timeNano ? new Date(Math.floor(raw.timeNano / 1e6)) : new Date((raw.time ?? 0) * 1000),
    };
    opts.onEvent(event).catch((error: unknown) => log.error({ err: String(error), action: event.action }, 'docker event handler failed'));
  }

  return {
    connected,
    async stop() {
      stopping = true;
      const stream = current;
      stream?.destroy?.();
      wake?.();
      await loop;
    },
  };
}
