/**
 * Contract §16 as the DockerEngine port gives it (openLogs), on the fake and
 * on every real adapter: an engine's output in lines, each stream in its
 * order and stamped, a long line cut and marked, bytes that are not UTF-8
 * replaced; `tail`, `since`; a follow that ends when the container stops,
 * with its exit code, or when its reader's signal fires.
 *
 * The subject's `chatterImage` writes what galaxy-test-engine:chatter writes
 * (test/images/chatter/chatter.sh), steered by the same environment.
 */
import { expect, it } from 'vitest';
import type { DockerEngine, EngineLogs, LogLine, LogsEnd, RunSpec } from '../../src/domain/engine-port.js';
import type { subjectRunner } from './subject.js';

export interface LogsSubject {
  port: DockerEngine;
  chatterImage: string;
}

/** The 20,000-character line the chatter writes, as a reader gets it: its first 16 KiB. */
export const LONG_LINE_CUT = '0123456789'.repeat(2000).slice(0, 16 * 1024);
/** What the chatter writes first on stdout, in order (and `hello stderr` on stderr). */
export const CHATTER_PREAMBLE = ['hello stdout', LONG_LINE_CUT, 'bytes \uFFFD\uFFFD end', 'snow \u2603 man', 'ready'];
export const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

export async function readAll(logs: EngineLogs): Promise<{ lines: LogLine[]; end: LogsEnd }> {
  const lines: LogLine[] = [];
  const end = await logs.read({ line: (line) => lines.push(line) });
  return { lines, end };
}

export const linesOf = (lines: LogLine[], stream: 'stdout' | 'stderr'): string[] => lines.filter((l) => l.stream === stream).map((l) => l.line);

const open = async (port: DockerEngine, id: string, query: { tail?: number; since?: Date | null; follow?: boolean }, signal = new AbortController().signal) => {
  const logs = await port.openLogs(id, { tail: query.tail ?? 200, since: query.since ?? null, follow: query.follow ?? false }, signal);
  if (!logs) throw new Error(`no logs for ${id}`);
  return logs;
};

async function untilStopped(port: DockerEngine, id: string): Promise<void> {
  await expect.poll(async () => (await port.inspectContainer(id))?.running, { timeout: 30_000, interval: 100 }).toBe(false);
}

export function describeLogsContract<S extends LogsSubject & { cleanup(): Promise<void> }>(
  withSubject: ReturnType<typeof subjectRunner<S>>,
  spec: (s: S, suffix: string, over?: Partial<RunSpec>) => RunSpec,
): void {
  const chatter = (s: S, suffix: string, env: Record<string, string>): RunSpec => {
    const base = spec(s, suffix, { image: s.chatterImage });
    return { ...base, env: { ...base.env, ...env } };
  };

  it(
    "reads a container's output: each stream's lines in order and stamped, a long line cut and marked, bytes that are not UTF-8 as U+FFFD",
    withSubject(async (s) => {
      const run = await s.port.run(chatter(s, 'logs-all', { CHATTER_TICKS: '3', CHATTER_TICK: '0.05' }));
      await untilStopped(s.port, run.containerId);
      const { lines, end } = await readAll(await open(s.port, run.containerId, {}));
      expect(end).toEqual({ kind: 'complete' });
      expect(linesOf(lines, 'stdout')).toEqual([...CHATTER_PREAMBLE, 'tick 1 out', 'tick 2 out', 'tick 3 out']);
      expect(linesOf(lines, 'stderr')).toEqual(['hello stderr', 'tick 1 err', 'tick 2 err', 'tick 3 err']);
      expect(lines.filter((l) => l.truncated).map((l) => l.line)).toEqual([LONG_LINE_CUT]);
      for (const stream of ['stdout', 'stderr'] as const) {
        const stamps = lines.filter((l) => l.stream === stream).map((l) => l.ts);
        for (const ts of stamps) expect(ts).toMatch(TIMESTAMP);
        expect(stamps.map((ts) => Date.parse(ts))).toEqual(stamps.map((ts) => Date.parse(ts)).sort((a, b) => a - b));
      }
    }),
  );

  it(
    'tail: the last lines written (none for 0); since: the lines written at or after it',
    withSubject(async (s) => {
      const run = await s.port.run(chatter(s, 'logs-tail', { CHATTER_TICKS: '3', CHATTER_TICK: '0.2' }));
      await untilStopped(s.port, run.containerId);
      const last = await readAll(await open(s.port, run.containerId, { tail: 2 }));
      expect(new Set(last.lines.map((l) => l.line))).toEqual(new Set(['tick 3 out', 'tick 3 err']));
      expect((await readAll(await open(s.port, run.containerId, { tail: 0 }))).lines).toEqual([]);
      const all = await readAll(await open(s.port, run.containerId, {}));
      const second = all.lines.find((l) => l.line === 'tick 2 out')!;
      const since = await readAll(await open(s.port, run.containerId, { since: new Date(Date.parse(second.ts)) }));
      expect(linesOf(since.lines, 'stdout')).toEqual(['tick 2 out', 'tick 3 out']);
    }),
  );

  it(
    'follows a running container: the lines as it writes them, then the end with its exit code once it exits',
    withSubject(async (s) => {
      const run = await s.port.run(chatter(s, 'logs-follow', { CHATTER_TICKS: '8', CHATTER_TICK: '0.25', CHATTER_EXIT: '7' }));
      const heard: Array<{ line: string; at: number }> = [];
      const began = Date.now();
      const end = await (
        await open(s.port, run.containerId, { tail: 0, follow: true })
      ).read({ line: (l) => heard.push({ line: l.line, at: Date.now() - began }) });
      expect(end).toEqual({ kind: 'stopped', exitCode: 7 });
      const ticks = heard.filter((h) => h.line.endsWith(' out')).map((h) => h.line);
      expect(ticks.at(-1)).toBe('tick 8 out');
      // Heard as written, not all at the exit: the first tick came well before the last.
      const at = (line: string) => heard.find((h) => h.line === line)?.at ?? 0;
      expect(at('tick 8 out') - at(ticks[0]!)).toBeGreaterThan(500);
    }),
  );

  it(
    'a follow of a container that stopped gives its lines, then the end with its exit code; a stop ends a follow with the exit code of the stop',
    withSubject(async (s) => {
      const exited = await s.port.run(chatter(s, 'logs-exited', { CHATTER_TICKS: '1', CHATTER_TICK: '0.05', CHATTER_EXIT: '5' }));
      await untilStopped(s.port, exited.containerId);
      const replay = await readAll(await open(s.port, exited.containerId, { follow: true }));
      expect(replay.end).toEqual({ kind: 'stopped', exitCode: 5 });
      expect(linesOf(replay.lines, 'stdout')).toEqual([...CHATTER_PREAMBLE, 'tick 1 out']);

      const running = await s.port.run(chatter(s, 'logs-stop', {}));
      // Stopped once its preamble was heard: a loaded machine may not have written it yet when the run returns.
      const lines: LogLine[] = [];
      let heardReady: () => void = () => undefined;
      const ready = new Promise<void>((resolve) => (heardReady = resolve));
      const following = (await open(s.port, running.containerId, { follow: true })).read({
        line: (l) => {
          lines.push(l);
          if (l.line === 'ready') heardReady();
        },
      });
      await ready;
      await s.port.stop(running.containerId, 1);
      const end = await following;
      expect(end).toEqual({ kind: 'stopped', exitCode: (await s.port.inspectContainer(running.containerId))?.exitCode });
      expect(linesOf(lines, 'stdout').slice(0, CHATTER_PREAMBLE.length)).toEqual(CHATTER_PREAMBLE);
    }),
  );

  it(
    "a follow ends when its reader's signal fires, promptly, though the engine writes on",
    withSubject(async (s) => {
      const run = await s.port.run(chatter(s, 'logs-abort', {}));
      const reader = new AbortController();
      const logs = await open(s.port, run.containerId, { tail: 0, follow: true }, reader.signal);
      let heard = 0;
      const reading = logs.read({
        line: () => {
          heard++;
          if (heard === 2) reader.abort();
        },
      });
      const began = Date.now();
      expect(await reading).toEqual({ kind: 'closed' });
      expect(Date.now() - began).toBeLessThan(5_000);
      expect((await s.port.inspectContainer(run.containerId))?.running).toBe(true);
    }),
  );

  it(
    'answers null for a container that does not exist',
    withSubject(async (s) => {
      expect(await s.port.openLogs('f'.repeat(64), { tail: 10, since: null, follow: false }, new AbortController().signal)).toBeNull();
    }),
  );
}
