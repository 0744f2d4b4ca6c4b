import { describe, expect, it } from 'vitest';
import type { Telemetry } from '../../src/domain/ports.js';
import { subjectRunner } from './subject.js';

/** What a scrape would show of the port's five series (contract §9), in one shape for the fake and the real adapter. */
export interface TelemetryReading {
  /** `{outcome} {error_code} {op_source}` → count. */
  startOutcomes: Record<string, number>;
  leaseAcquireLatency: { count: number; sum: number };
  /** op → how many and their sum in seconds. */
  dockerOps: Record<string, { count: number; sum: number }>;
  /** event type → count. */
  healthEvents: Record<string, number>;
  /** notification type → count. */
  notificationIntents: Record<string, number>;
}

export interface TelemetrySubject {
  port: Telemetry;
  read: () => Promise<TelemetryReading>;
  cleanup(): Promise<void>;
}

const NOTHING: TelemetryReading = { startOutcomes: {}, leaseAcquireLatency: { count: 0, sum: 0 }, dockerOps: {}, healthEvents: {}, notificationIntents: {} };

export function describeTelemetryContract(name: string, make: () => Promise<TelemetrySubject>): void {
  describe(`Telemetry contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it(
      'reads nothing before anything is recorded',
      withSubject(async ({ read }) => {
        expect(await read()).toEqual(NOTHING);
      }),
    );

    it(
      'counts start outcomes per outcome, error code and op source',
      withSubject(async ({ port, read }) => {
        port.recordStartOutcome('failure', 'image_pull_failed', 'lobby_stream');
        port.recordStartOutcome('success', '', 'gm_rest');
        port.recordStartOutcome('failure', 'image_pull_failed', 'lobby_stream');
        port.recordStartOutcome('failure', 'image_pull_failed', 'gm_rest');
        port.recordStartOutcome('success', 'replay_no_op', 'gm_rest');
        expect(await read()).toEqual({
          ...NOTHING,
          startOutcomes: {
            'failure image_pull_failed lobby_stream': 2,
            'failure image_pull_failed gm_rest': 1,
            'success  gm_rest': 1,
            'success replay_no_op gm_rest': 1,
          },
        });
      }),
    );

    it(
      'records lease acquisition latencies: how many, and their sum in seconds',
      withSubject(async ({ port, read }) => {
        port.recordLeaseAcquireLatency(0.002);
        port.recordLeaseAcquireLatency(0.5);
        port.recordLeaseAcquireLatency(0);
        const reading = await read();
        expect(reading).toEqual({ ...NOTHING, leaseAcquireLatency: { count: 3, sum: expect.closeTo(0.502, 9) as number } });
      }),
    );

    it(
      'records Docker call latencies per op',
      withSubject(async ({ port, read }) => {
        port.recordDockerOp('run', 0.8);
        port.recordDockerOp('pull', 12.5);
        port.recordDockerOp('run', 0.25);
        expect(await read()).toEqual({
          ...NOTHING,
          dockerOps: { run: { count: 2, sum: expect.closeTo(1.05, 9) as number }, pull: { count: 1, sum: 12.5 } },
        });
      }),
    );

    it(
      'counts health events and notification intents by type, each on its own series',
      withSubject(async ({ port, read }) => {
        port.recordHealthEvent('container_started');
        port.recordHealthEvent('container_exited');
        port.recordHealthEvent('container_started');
        port.recordNotificationIntent('runtime.image_pull_failed');
        port.recordNotificationIntent('runtime.container_crash_loop');
        port.recordNotificationIntent('runtime.image_pull_failed');
        expect(await read()).toEqual({
          ...NOTHING,
          healthEvents: { container_started: 2, container_exited: 1 },
          notificationIntents: { 'runtime.image_pull_failed': 2, 'runtime.container_crash_loop': 1 },
        });
      }),
    );

    it(
      'keeps counting across reads: a read changes nothing',
      withSubject(async ({ port, read }) => {
        port.recordHealthEvent('container_oom');
        port.recordDockerOp('stop', 1);
        const first = await read();
        expect(await read()).toEqual(first);
        port.recordHealthEvent('container_oom');
        port.recordDockerOp('stop', 2);
        expect(await read()).toEqual({ ...NOTHING, healthEvents: { container_oom: 2 }, dockerOps: { stop: { count: 2, sum: 3 } } });
      }),
    );
  });
}
