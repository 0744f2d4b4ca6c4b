import { describe, expect, it } from 'vitest';
import type { NotificationIntent } from '../../src/domain/model.js';
import type { Notifications } from '../../src/domain/ports.js';
import { subjectRunner } from './subject.js';

export interface NotificationsSubject {
  port: Notifications;
  /** What the Notification Service reads from `notification:intents`, oldest first. */
  readBack: () => Promise<NotificationIntent[]>;
  cleanup(): Promise<void>;
}

const intent = (over: Partial<NotificationIntent> = {}): NotificationIntent => ({
  notificationType: 'runtime.image_pull_failed',
  idempotencyKey: 'runtime.image_pull_failed.g-1.1764072000123',
  audience: 'admin',
  occurredAt: new Date(1764072000123),
  payload: { game_id: 'g-1', image_ref: 'x:1', error_code: 'image_pull_failed', error_message: 'pull access denied', attempted_at_ms: 1764072000123 },
  ...over,
});

export function describeNotificationsContract(name: string, make: () => Promise<NotificationsSubject>): void {
  describe(`Notifications contract: ${name}`, () => {
    const withSubject = subjectRunner(make);

    it(
      'publishes intents in order with every field intact',
      withSubject(async ({ port, readBack }) => {
        const first = intent();
        const second = intent({
          notificationType: 'runtime.start_config_invalid',
          idempotencyKey: 'runtime.start_config_invalid.g-2.1764072000999',
          occurredAt: new Date(1764072000999),
          payload: {
            game_id: 'g-2',
            image_ref: 'Bad Ref',
            error_code: 'start_config_invalid',
            error_message: 'line one\nline "two" — ünïcode',
            attempted_at_ms: 1764072000999,
          },
        });
        await port.publish(first);
        await port.publish(second);
        expect(await readBack()).toEqual([first, second]);
      }),
    );
  });
}
