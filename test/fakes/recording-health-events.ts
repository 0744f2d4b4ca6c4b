import type { HealthEvent } from '../../src/domain/model.js';
import type { HealthEvents } from '../../src/domain/ports.js';

export class RecordingHealthEvents implements HealthEvents {
  readonly published: HealthEvent[] = [];
  fail: Error | null = null;

  publish(event: HealthEvent): Promise<void> {
    if (this.fail) return Promise.reject(this.fail);
    this.published.push(structuredClone(event));
    return Promise.resolve();
  }
}
