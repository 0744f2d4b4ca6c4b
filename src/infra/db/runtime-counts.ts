import { count } from 'drizzle-orm';
import { RUNTIME_HEALTHS, RUNTIME_STATUSES } from '../../domain/model.js';
import type { RuntimeCount } from '../telemetry.js';
import type { Database } from './client.js';
import { type CallDeadline, withinDeadline } from './deadline.js';
import { runtimeRecords } from './schema.js';

/**
 * The runtime records per status and health, for the gauge
 * `rtmanager_runtimes{status,health}`: one grouped count, read at scrape time.
 * Every pair is answered, 0 when no record has it, so a series falls to 0
 * rather than vanishing when the last engine recovers.
 */
export async function countRuntimes(db: Database, deadline: CallDeadline | null): Promise<RuntimeCount[]> {
  const rows = await withinDeadline('count runtime records', deadline, () =>
    db
      .select({ status: runtimeRecords.status, health: runtimeRecords.health, count: count() })
      .from(runtimeRecords)
      .groupBy(runtimeRecords.status, runtimeRecords.health),
  );
  const counted = new Map(rows.map((row) => [`${row.status} ${row.health}`, row.count]));
  return RUNTIME_STATUSES.flatMap((status) => RUNTIME_HEALTHS.map((health) => ({ status, health, count: counted.get(`${status} ${health}`) ?? 0 })));
}
