/**
 * Contract §16 on a Swarm cluster: a game's output is its task's
 * (`GET /tasks/{id}/logs`, which the manager gathers from whichever node runs
 * it), the task named by the container id the record carries. Swarm never
 * ends a followed task's stream, not even once the task is over: the task is
 * watched, and once it has ended and its last lines have arrived (the stream
 * stayed quiet a moment), the read ends with its exit code. A stop (a scale
 * to zero) deletes the task the moment it ends, exit code and all: when the
 * container runs on the manager's own node, a wait asked of it beside the
 * stream says the code all the same; elsewhere it is unknown (null).
 */
import type { EngineLogs, LogQuery, LogSink, LogsEnd } from '../../domain/engine-port.js';
import { LABEL_OWNER, LABEL_OWNER_VALUE } from '../../domain/model.js';
import type { DaemonRequests } from './daemon-requests.js';
import { logParameters, pumpLogStream, waitForExit, withDeadline, within } from './log-reading.js';
import type { SwarmTask } from './swarm-service-spec.js';
import { TERMINAL, sleep } from './swarm-service-spec.js';

type Task = SwarmTask & { Spec?: { ContainerSpec?: { TTY?: boolean } } };

/** Our tasks only (Swarm filters tasks by their service's labels): not every task of the swarm per read. */
const OWN_TASKS = { filters: JSON.stringify({ label: [`${LABEL_OWNER}=${LABEL_OWNER_VALUE}`] }) };

/** Once the task is over with no exit code of its own, how long the local wait may still take. */
const LOCAL_EXIT_GRACE_MS = 2_000;

export interface TaskLogOptions {
  /** Every Docker call's deadline (the stream's headers included). */
  deadlineMs: number;
  /** How often a followed task is looked at. */
  pollMs: number;
  /** Once the task ended: the stream is over when it stayed quiet this long [500]… */
  quietMs?: number;
  /** …or this long after the task ended, whichever comes first [5000]. */
  drainMs?: number;
}

export async function openTaskLogs(
  daemon: DaemonRequests,
  containerId: string,
  query: LogQuery,
  signal: AbortSignal,
  opts: TaskLogOptions,
): Promise<EngineLogs | null> {
  const tasks = await withDeadline('task_list', opts.deadlineMs, signal, (s) => daemon.json<Task[]>('GET', '/tasks', OWN_TASKS, s));
  const task = tasks?.find((t) => containerId.length >= 12 && (t.Status.ContainerStatus?.ContainerID ?? '').startsWith(containerId));
  if (!task) return null;
  const path = `/tasks/${encodeURIComponent(task.ID)}`;
  const ending = new AbortController();
  const reading = AbortSignal.any([signal, ending.signal]);
  const body = await withDeadline('task_logs', opts.deadlineMs, signal, (s) => daemon.stream(`${path}/logs`, logParameters(query), s));
  if (!body) return null;
  reading.addEventListener('abort', () => body.destroy(), { once: true });
  const tty = task.Spec?.ContainerSpec?.TTY === true;
  const containerPath = `/containers/${encodeURIComponent(task.Status.ContainerStatus?.ContainerID ?? containerId)}`;
  // On another node than the manager's the daemon has no such container: null at once.
  const localExit = query.follow && !TERMINAL.has(task.Status.State) ? waitForExit(daemon, containerPath, signal) : Promise.resolve(null);
  return {
    async read(sink): Promise<LogsEnd> {
      let lastLineAt = Date.now();
      // A line passed over is a line heard all the same: the stream is not quiet.
      const heard: LogSink = {
        line: (line) => {
          lastLineAt = Date.now();
          sink.line(line);
        },
        wants: () => sink.wants?.() !== false,
        passed: () => {
          lastLineAt = Date.now();
          sink.passed?.();
        },
      };
      // The watch ends the stream (through `ending`) once the task is over, or when it fails.
      const watched = query.follow ? watchTask(daemon, path, reading, opts, () => lastLineAt).finally(() => ending.abort()) : null;
      watched?.catch(() => undefined);
      await pumpLogStream(body, tty, heard, reading);
      if (signal.aborted) return { kind: 'closed' };
      if (!watched) return { kind: 'complete' };
      return { kind: 'stopped', exitCode: (await watched) ?? (await within(localExit, LOCAL_EXIT_GRACE_MS, null)) };
    },
  };
}

/**
 * Until the task has ended (or is gone) and the stream has stayed quiet,
 * bounded: its exit code, when Swarm said one. Throws when the manager
 * fails; ends early (null) when `signal` fires.
 */
async function watchTask(daemon: DaemonRequests, path: string, signal: AbortSignal, opts: TaskLogOptions, lastLineAt: () => number): Promise<number | null> {
  let task: Task | null;
  for (;;) {
    if (signal.aborted) return null;
    task = await withDeadline('task_inspect', opts.deadlineMs, signal, (s) => daemon.json<Task>('GET', path, {}, s));
    if (!task || TERMINAL.has(task.Status.State)) break;
    await sleep(opts.pollMs);
  }
  const endedAt = Date.now();
  const quietMs = opts.quietMs ?? 500;
  while (!signal.aborted && Date.now() - endedAt < (opts.drainMs ?? 5_000) && Date.now() - lastLineAt() < quietMs) await sleep(quietMs / 5);
  return task?.Status.ContainerStatus?.ExitCode ?? null;
}
