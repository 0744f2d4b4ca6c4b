/**
 * Contract §16 on one engine: a container's output, from the daemon's log
 * stream (`GET /containers/{id}/logs`). A followed stream ends when the
 * container stops, which the daemon says by ending it; the exit code comes
 * from a wait asked beside it, which answers at the exit even when the stop
 * that caused it removes the container a moment later.
 */
import type { EngineLogs, LogQuery, LogsEnd } from '../../domain/engine-port.js';
import type { DaemonRequests } from './daemon-requests.js';
import { logParameters, pumpLogStream, waitForExit, withDeadline, within } from './log-reading.js';

interface ContainerInspect {
  State: { Running: boolean; ExitCode: number };
  Config: { Tty?: boolean };
}

/** After the stream ended, how long the exit's wait may still take before the container is inspected instead. */
const EXIT_GRACE_MS = 5_000;

export async function openContainerLogs(
  daemon: DaemonRequests,
  containerId: string,
  query: LogQuery,
  signal: AbortSignal,
  deadlineMs: number,
): Promise<EngineLogs | null> {
  const path = `/containers/${encodeURIComponent(containerId)}`;
  const inspect = () => withDeadline('inspect', deadlineMs, signal, (s) => daemon.json<ContainerInspect>('GET', `${path}/json`, {}, s));
  const info = await inspect();
  if (!info) return null;
  // Asked before the logs, so no exit falls between the two.
  const exit = query.follow && info.State.Running ? waitForExit(daemon, path, signal) : null;
  const body = await withDeadline('logs', deadlineMs, signal, (s) => daemon.stream(`${path}/logs`, logParameters(query), s));
  if (!body) return null;
  signal.addEventListener('abort', () => body.destroy(), { once: true });
  return {
    async read(sink): Promise<LogsEnd> {
      const ended = await pumpLogStream(body, info.Config.Tty === true, sink, signal);
      if (ended === 'closed') return { kind: 'closed' };
      if (!query.follow) return { kind: 'complete' };
      if (!exit) return { kind: 'stopped', exitCode: info.State.ExitCode };
      return { kind: 'stopped', exitCode: await exitCodeOf(exit, inspect) };
    },
  };
}

/** The wait's answer; if it has none within EXIT_GRACE_MS, the inspect's. A container still running ended its stream some other way: that is a failure. */
async function exitCodeOf(exit: Promise<number | null>, inspect: () => Promise<ContainerInspect | null>): Promise<number | null> {
  const code = await within(exit, EXIT_GRACE_MS, null);
  if (code !== null) return code;
  const info = await inspect();
  if (info?.State.Running) throw new Error("the daemon ended the engine's log stream while the engine still runs");
  return info ? info.State.ExitCode : null;
}
