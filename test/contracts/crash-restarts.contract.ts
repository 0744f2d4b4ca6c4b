import { describe, expect, it } from 'vitest';
import type { EngineCrash } from '../../src/domain/model.js';
import type { CrashRestarts } from '../../src/domain/ports.js';
import type { DueCrash } from '../fakes/timed-crash-restarts.js';
import { subjectRunner } from './subject.js';

export interface CrashRestartsSubject {
  port: CrashRestarts;
  /** The crashes handed on so far, in the order they came due. */
  handedOn: () => DueCrash[];
  cleanup(): Promise<void>;
}

const crash = (containerId: string, over: Partial<EngineCrash> = {}): EngineCrash => ({ containerId, reason: 'exit', exitCode: 3, oomKilled: false, ...over });

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function describeCrashRestartsContract(name: string, make: () => Promise<CrashRestartsSubject>): void {
  describe(`CrashRestarts contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it(
      'hands a crash on with every field intact once its delay has passed, not before',
      withSubject(async ({ port, handedOn }) => {
        const oom = crash('c0ffee01', { reason: 'oom', exitCode: 137, oomKilled: true });
        await port.schedule('g-late', oom, 700);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(handedOn()).toEqual([]);
        await until(() => handedOn().length === 1, 5_000);
        expect(handedOn()).toEqual([{ gameId: 'g-late', crash: oom }]);
      }),
    );

    it(
      'a crash of a container already waiting is handed on once; another container is a crash of its own',
      withSubject(async ({ port, handedOn }) => {
        await port.schedule('g-twice', crash('aaaa0001'), 300);
        await port.schedule('g-twice', crash('aaaa0001'), 300);
        await port.schedule('g-twice', crash('aaaa0002', { reason: 'unhealthy', exitCode: null }), 0);
        await until(() => handedOn().length >= 2, 5_000);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(handedOn().map((d) => d.crash.containerId)).toEqual(['aaaa0002', 'aaaa0001']);
      }),
    );
  });
}
