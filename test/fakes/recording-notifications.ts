import type { NotificationIntent } from '../../src/domain/model.js';
import type { Notifications } from '../../src/domain/ports.js';

export class RecordingNotifications implements Notifications {
  readonly published: NotificationIntent[] = [];
  fail: Error | null = null;

  publish(intent: NotificationIntent): Promise<void> {
    if (this.fail) return Promise.reject(this.fail);
    this.published.push(structuredClone(intent));
    return Promise.resolve();
  }
}
