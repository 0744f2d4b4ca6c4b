/**
 * Health followed (contract §15): the reconciler's part when the engine runs
 * as recorded but its HEALTHCHECK says otherwise than the record. Reached on
 * a `health_status` event (reconcileOnEvent) and, as the fallback for an
 * event missed, at every periodic pass, whose inspect reads the same health.
 *
 * The record takes the new health, and two changes are told on the health
 * stream (which also keeps the game's snapshot row): turning `unhealthy`
 * (`container_unhealthy`), and coming back `healthy` after that
 * (`container_healthy`). The first `healthy` after a start is no news: the
 * start waited for it, and its `container_started` said so.
 */
import type { RuntimeHealth, RuntimeRecord } from './model.js';
import type { Operation } from './operation.js';
import { withImage } from './operation.js';
import { fenceOf } from './operation-lease.js';
import { bestEffortHealthEvent } from './outcomes.js';
import type { ContainerInfo } from './engine-port.js';

/** The health event a change from `before` to `after` publishes, if any. */
export function healthChangeEvent(before: RuntimeHealth, after: RuntimeHealth): 'container_unhealthy' | 'container_healthy' | null {
  if (after === 'unhealthy' && before !== 'unhealthy') return 'container_unhealthy';
  if (after === 'healthy' && before === 'unhealthy') return 'container_healthy';
  return null;
}

/**
 * Writes the container's health into the running record and tells the
 * change. False when the write was refused for its fence (a newer operation
 * owns the game): then nothing is published.
 */
export async function followHealth(observing: Operation, record: RuntimeRecord, container: ContainerInfo): Promise<boolean> {
  const op = withImage(observing, record.currentImageRef ?? '', record.currentImageDigest);
  const { deps } = op;
  if (!(await deps.records.upsert({ ...record, health: container.health }, fenceOf(op)))) return false;
  const eventType = healthChangeEvent(record.health, container.health);
  if (eventType) {
    await bestEffortHealthEvent(op, {
      containerId: container.id,
      eventType,
      occurredAt: deps.clock.now(),
      details: { health: container.health, previous_health: record.health },
    });
  }
  op.log.info({ container_id: container.id, health: container.health, previous_health: record.health }, 'reconcile: engine health changed');
  return true;
}

/**
 * An engine found exited whose last health was `unhealthy` unknown to the
 * record (on a swarm, Swarm itself ends a task whose engine turned
 * unhealthy, before any read saw it so): the change is told before the exit,
 * and the record to mark carries it.
 */
export async function unhealthyAtExit(op: Operation, record: RuntimeRecord, container: ContainerInfo): Promise<RuntimeRecord> {
  if (container.health !== 'unhealthy' || record.health === 'unhealthy') return record;
  await bestEffortHealthEvent(withImage(op, record.currentImageRef ?? '', record.currentImageDigest), {
    containerId: container.id,
    eventType: 'container_unhealthy',
    occurredAt: container.finishedAt ?? op.deps.clock.now(),
    details: { health: 'unhealthy', previous_health: record.health },
  });
  return { ...record, health: 'unhealthy' };
}
