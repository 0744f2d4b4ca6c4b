import { describe, expect, it } from 'vitest';
import type { HealthEvent, NotificationIntent } from '../../src/domain/model.js';
import type { HealthEvents, Notifications } from '../../src/domain/ports.js';

export interface HealthEventsSubject {
  port: HealthEvents;
  /** What a consumer of the stream (and the snapshot table) sees, oldest first. */
  readBack(): Promise<HealthEvent[]>;
  cleanup(): Promise<void>;
}

export interface NotificationsSubject {
  port: Notifications;
  readBack(): Promise<NotificationIntent[]>;
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

const intent = (over: Partial<NotificationIntent> = {}): NotificationIntent => ({
  notificationType: 'runtime.image_pull_failed',
  idempotencyKey: 'runtime.image_pull_failed.g-1.1764072000123',
  audience: 'admin',
  occurredAt: new Date(1764072000123),
  payload: { game_id: 'g-1', image_ref: 'x:1', error_code: 'image_pull_failed', error_message: 'pull access denied', attempted_at_ms: 1764072000123 },
  ...over,
});

export function describeHealthEventsContract(name: string, make: () => Promise<HealthEventsSubject>): void {
  describe(`HealthEvents contract: ${name}`, () => {
    it('publishes events in order with every field intact', async () => {
      const s = await make();
      try {
        const first = event();
        const second = event({ eventType: 'container_exited', occurredAt: new Date(1764072001000), details: { exit_code: 137, oom_killed: false } });
        await s.port.publish(first);
        await s.port.publish(second);
        expect(await s.readBack()).toEqual([first, second]);
      } finally {
        await s.cleanup();
      }
    });
  });
}

export function describeNotificationsContract(name: string, make: () => Promise<NotificationsSubject>): void {
  describe(`Notifications contract: ${name}`, () => {
    it('publishes intents in order with every field intact', async () => {
      const s = await make();
      try {
        const first = intent();
        const second = intent({ notificationType: 'runtime.start_config_invalid', idempotencyKey: 'runtime.start_config_invalid.g-2.1' });
        await s.port.publish(first);
        await s.port.publish(second);
        expect(await s.readBack()).toEqual([first, second]);
      } finally {
        await s.cleanup();
      }
    });
  });
}
