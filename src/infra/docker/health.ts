/**
 * An engine's HEALTHCHECK as the daemon tells it (contract §15): whether an
 * image declares one, a container's health from its inspect or its listing,
 * and the wait for a running container's first verdict.
 *
 * The wait follows the daemon's own `health_status` events, so a start learns
 * the verdict when Docker does, with no poll interval added to it. The events
 * are asked `since` the container started: the daemon replays what it emitted
 * for the container from then on, so a verdict that came between the inspect
 * and the subscription is not missed (Docker 20.10 sends the response's
 * headers before it subscribes), and the first health event is the first
 * verdict (Docker emits one only when the status changes).
 */
import type Dockerode from 'dockerode';
import type { HealthVerdict } from '../../domain/engine-port.js';
import type { RuntimeHealth } from '../../domain/model.js';
import type { DaemonClient } from './daemon-client.js';
import { daemonError, parseDockerTime, statusOf } from './daemon-errors.js';

/** After the event stream broke before a verdict: a pause, then inspect and subscribe again. */
const RESUBSCRIBE_MS = 100;

/** A HEALTHCHECK whose test is absent or `NONE` is none (an image may disable its base image's). */
export function declaresHealthcheck(config: { Healthcheck?: { Test?: string[] | undefined } | undefined } | undefined): boolean {
  const test = config?.Healthcheck?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}

/** State.Health.Status; `none` without a HEALTHCHECK. */
export function healthOfState(state: { Health?: { Status: string } | undefined }): RuntimeHealth {
  return asHealth(state.Health?.Status);
}

/** A listing's status line: `Up 3 seconds (healthy)`, `(unhealthy)`, `(health: starting)`. */
export function healthOfStatusLine(status: string | undefined): RuntimeHealth {
  const said = /\((?:health: )?(healthy|unhealthy|starting)\)/.exec(status ?? '')?.[1];
  return asHealth(said);
}

function asHealth(status: string | undefined): RuntimeHealth {
  return status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : 'none';
}

/** What an inspect says of the wait: a verdict, or still `starting`. */
function verdictOf(info: Dockerode.ContainerInspectInfo | null): { verdict: HealthVerdict | 'starting'; startedAt: Date | null } {
  if (!info?.State.Running) return { verdict: 'gone', startedAt: null };
  return { verdict: healthOfState(info.State), startedAt: parseDockerTime(info.State.StartedAt) };
}

/**
 * Until the container's first health verdict, at most `timeoutMs`: inspect
 * (a verdict already given, or none to wait for), then the events since it
 * started. A stream that ends early is asked again.
 */
export async function awaitContainerHealth(client: DaemonClient, containerId: string, timeoutMs: number): Promise<HealthVerdict> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await inspectOrNull(client, containerId);
    const { verdict, startedAt } = verdictOf(now);
    if (verdict !== 'starting') return verdict;
    if (Date.now() >= deadline) return 'timeout';
    const heard = await firstVerdictEvent(client, containerId, startedAt, deadline);
    if (heard) return heard;
    if (Date.now() >= deadline) return 'timeout';
    await new Promise((resolve) => setTimeout(resolve, Math.min(RESUBSCRIBE_MS, deadline - Date.now())));
  }
}

async function inspectOrNull(client: DaemonClient, containerId: string): Promise<Dockerode.ContainerInspectInfo | null> {
  try {
    return await client.call('inspect', (abortSignal) => client.docker.getContainer(containerId).inspect({ abortSignal }));
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw daemonError(error);
  }
}

/** The first verdict among the container's events since `since`; null when the deadline came or the stream ended first. */
async function firstVerdictEvent(client: DaemonClient, containerId: string, since: Date | null, deadline: number): Promise<HealthVerdict | null> {
  const stream = (await client.call('events', (abortSignal) =>
    client.docker.getEvents({
      // Seconds, to the millisecond, a millisecond early: the daemon's own StartedAt is finer than a Date.
      ...(since ? { since: (since.getTime() - 1) / 1000 } : {}),
      filters: { type: ['container'], container: [containerId], event: ['health_status', 'die', 'destroy'] },
      abortSignal,
    }),
  )) as NodeJS.ReadableStream & { destroy(): void };
  try {
    return await new Promise<HealthVerdict | null>((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
      let buffer = '';
      stream.on('data', (chunk: Buffer | string) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const verdict = verdictOfEvent(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          if (verdict) {
            clearTimeout(timer);
            resolve(verdict);
          }
        }
      });
      const ended = () => {
        clearTimeout(timer);
        resolve(null);
      };
      stream.on('end', ended);
      stream.on('close', ended);
      stream.on('error', (error: Error) => {
        clearTimeout(timer);
        reject(daemonError(error));
      });
    });
  } finally {
    stream.destroy();
  }
}

function verdictOfEvent(line: string): HealthVerdict | null {
  let action: string;
  try {
    const raw = JSON.parse(line) as { Action?: string; status?: string };
    action = raw.Action ?? raw.status ?? '';
  } catch {
    return null;
  }
  if (action === 'health_status: healthy') return 'healthy';
  if (action === 'health_status: unhealthy') return 'unhealthy';
  if (action === 'die' || action === 'destroy') return 'gone';
  return null;
}
