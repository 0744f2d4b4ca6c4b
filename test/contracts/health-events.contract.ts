import { describe, expect, it } from 'vitest';
import type { HealthEvent } from '../../src/domain/model.js';
import type { HealthEvents } from '../../src/domain/ports.js';
import { subjectRunner } from './subject.js';

export interface HealthEventsSubject {
  port: HealthEvents;
  /** What a consumer of `runtime:health_events` sees, oldest first. */
  readBack: () => Promise<HealthEvent[]>;
  cleanup(): Promise<void>;
}

const event = (over: Partial<HealthEvent> = {}): HealthEvent => ({
  gameId: 'g-1',
  containerId: 'c'.repeat(64),
  eventType: 'container_started',
  occurredAt: new Date(1764072000123),
  details: { image_ref: 'galaxy/engine:1', nested: { exit_code: 0 } },
  ...over,
});

export function describeHealthEventsContract(name: string, make: () => Promise<HealthEventsSubject>): void {
  describe(`HealthEvents contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it(
      'publishes events in order with every field intact',
      withSubject(async ({ port, readBack }) => {
        const first = event();
        const second = event({ eventType: 'container_exited', occurredAt: new Date(1764072001000), details: { exit_code: 137, oom_killed: false } });
        await port.publish(first);
        await port.publish(second);
        expect(await readBack()).toEqual([first, second]);
      }),
    );

    it(
      'keeps an empty container id and empty details (a container that disappeared)',
      withSubject(async ({ port, readBack }) => {
        const gone = event({ gameId: 'g-2', containerId: '', eventType: 'container_disappeared', details: {} });
        await port.publish(gone);
        expect(await readBack()).toEqual([gone]);
      }),
    );

    it(
      'does not alias the published event',
      withSubject(async ({ port, readBack }) => {
        const e = event({ details: { exit_code: 1 } });
        await port.publish(e);
        e.details.exit_code = 2;
        expect((await readBack())[0]?.details).toEqual({ exit_code: 1 });
      }),
    );
  });
}
