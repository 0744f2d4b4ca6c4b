/**
 * Follows the engine's event stream for our containers (die, oom, and the
 * `health_status: healthy|unhealthy` of an engine's HEALTHCHECK, contract
 * §15) and hands each event on. When the stream ends — the daemon restarted, the socket
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
  const follower = new EngineEventsFollower(opts);
  return { connected: follower.connected, stop: () => follower.stop() };
}

class EngineEventsFollower {
  readonly connected: Promise<void>;
  private readonly log: Logger;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private stopping = false;
  private current: (NodeJS.ReadableStream & { destroy?: () => void }) | null = null;
  private wake: (() => void) | null = null;
  private markConnected: () => void = () => undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly opts: FollowOptions) {
    this.log = opts.logger.child({ component: 'docker-events' });
    this.minBackoff = opts.minBackoffMs ?? 100;
    this.maxBackoff = opts.maxBackoffMs ?? 5_000;
    this.connected = new Promise<void>((resolve) => {
      this.markConnected = resolve;
    });
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const stream = this.current;
    stream?.destroy?.();
    this.wake?.();
    await this.loop;
  }

  /** Subscribes, reads until the stream ends, and again after a backoff, until stopped. */
  private async follow(): Promise<void> {
    let backoff = this.minBackoff;
    let everConnected = false;
    while (!this.stopping) {
      try {
        const stream = await this.subscribe();
        this.current = stream;
        if (everConnected) {
          this.log.info({}, 'docker events reconnected; running a full reconcile');
          await this.opts.onReconnect?.().catch((error: unknown) => this.log.error({ err: String(error) }, 'reconcile after reconnect failed'));
        }
        everConnected = true;
        this.markConnected();
        backoff = this.minBackoff;
        await this.consume(stream);
      } catch (error) {
        if (this.stopping) break;
        this.log.warn({ err: errorMessage(error), retry_in_ms: backoff }, 'docker events unavailable');
      }
      if (this.stopping) break;
      await this.pause(backoff);
      backoff = Math.min(this.maxBackoff, backoff * 2);
    }
  }

  private subscribe(): Promise<NodeJS.ReadableStream> {
    return this.opts.docker.getEvents({
      filters: {
        type: ['container'],
        // `health_status` matches the daemon's `health_status: healthy` and `: unhealthy` (its filter takes the prefix).
        event: this.opts.actions ?? ['die', 'oom', 'health_status'],
        label: Object.entries(this.opts.labels).map(([k, v]) => `${k}=${v}`),
      },
    });
  }

  /** A backoff that `stop` cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Reads JSON lines until the stream ends; a line may span chunks. */
  private consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffer = '';
      stream.on('data', (chunk: Buffer | string) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) this.dispatch(line);
        }
      });
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', (error: Error) => reject(error));
    });
  }

  private dispatch(line: string): void {
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'unparseable docker event');
      return;
    }
    const event: EngineEvent = {
      action: raw.Action ?? raw.status ?? '',
      containerId: raw.Actor?.ID ?? raw.id ?? '',
      labels: raw.Actor?.Attributes ?? {},
      time: raw.timeNano ? new Date(Math.floor(raw.timeNano / 1e6)) : new Date((raw.time ?? 0) * 1000),
    };
    this.opts.onEvent(event).catch((error: unknown) => this.log.error({ err: String(error), action: event.action }, 'docker event handler failed'));
  }
}
