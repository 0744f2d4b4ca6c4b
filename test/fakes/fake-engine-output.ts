/**
 * What the fake engine's containers wrote, and its reads as the DockerEngine
 * port gives them (contract §16), the way Docker's json-file logs behave:
 * each line a message stamped when it was written (a piece without its
 * newline is a message of its own), `tail` counting messages from the end
 * and `since` filtering what the tail kept, lines bounded by the same
 * assembler the real adapters use, and a follow that ends when the container
 * stops, with its exit code.
 */
import { LineAssembler } from '../../src/domain/log-lines.js';
import type { EngineLogs, LogQuery, LogSink, LogStreamName, LogsEnd } from '../../src/domain/engine-port.js';

interface Message {
  at: Date;
  stream: LogStreamName;
  bytes: Uint8Array;
}

interface Follower {
  message(m: Message): void;
  stopped(exitCode: number | null): void;
}

const NEWLINE = 0x0a;

export class FakeEngineOutput {
  private readonly messages = new Map<string, Message[]>();
  private readonly followers = new Map<string, Set<Follower>>();

  /** `data` as the container `containerId` writes it on `stream` at `at`. */
  write(containerId: string, stream: LogStreamName, data: string | Uint8Array, at: Date): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const list = this.messages.get(containerId) ?? [];
    this.messages.set(containerId, list);
    let start = 0;
    while (start < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start);
      const end = newline === -1 ? bytes.length : newline + 1;
      const message = { at, stream, bytes: bytes.slice(start, end) };
      list.push(message);
      for (const f of this.followers.get(containerId) ?? []) f.message(message);
      start = end;
    }
  }

  /** The container stopped (or was removed): every follow of it ends. */
  stopped(containerId: string, exitCode: number | null): void {
    for (const f of [...(this.followers.get(containerId) ?? [])]) f.stopped(exitCode);
  }

  /** Follows open now, over every container: a test asserts none outlives its reader. */
  get following(): number {
    return [...this.followers.values()].reduce((n, set) => n + set.size, 0);
  }

  /** `state`: whether the container runs, and its last exit (a follow of a stopped one ends with it), as they are when the read begins. */
  open(containerId: string, query: LogQuery, signal: AbortSignal, state: () => { running: boolean; exitCode: number | null }): EngineLogs {
    return { read: (sink) => this.read(containerId, query, state, sink, signal) };
  }

  private async read(
    containerId: string,
    query: LogQuery,
    state: () => { running: boolean; exitCode: number | null },
    sink: LogSink,
    signal: AbortSignal,
  ): Promise<LogsEnd> {
    const lines = { stdout: new LineAssembler('stdout', sink), stderr: new LineAssembler('stderr', sink) };
    const deliver = (m: Message) => lines[m.stream].push(m.at.toISOString(), m.bytes);
    const ended = () => {
      lines.stdout.end();
      lines.stderr.end();
    };
    // As a daemon's stream: the lines come after the call returns.
    await Promise.resolve();
    if (signal.aborted) return { kind: 'closed' };
    const all = this.messages.get(containerId) ?? [];
    const tailed = query.tail === 0 ? [] : all.slice(-query.tail);
    const since = query.since;
    (since ? tailed.filter((m) => m.at.getTime() >= since.getTime()) : tailed).forEach(deliver);
    const { running, exitCode } = state();
    if (!query.follow || !running) {
      ended();
      return query.follow ? { kind: 'stopped', exitCode } : { kind: 'complete' };
    }
    return new Promise<LogsEnd>((resolve) => {
      const set = this.followers.get(containerId) ?? new Set<Follower>();
      this.followers.set(containerId, set);
      const finish = (end: LogsEnd) => {
        set.delete(follower);
        signal.removeEventListener('abort', closed);
        resolve(end);
      };
      const closed = () => finish({ kind: 'closed' });
      const follower: Follower = {
        message: deliver,
        stopped: (code) => {
          ended();
          finish({ kind: 'stopped', exitCode: code });
        },
      };
      set.add(follower);
      signal.addEventListener('abort', closed, { once: true });
    });
  }
}
