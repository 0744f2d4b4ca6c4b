import { eq, sql } from 'drizzle-orm';
import type { HealthEvent, HealthEventType } from '../../domain/model.js';
import type { Database } from './client.js';
import { type CallDeadline, withinDeadline } from './deadline.js';
import { healthSnapshots } from './schema.js';

/**
 * The last health event per game (`health_snapshots`). Not a domain port: the
 * HealthEvents adapter writes through `upsert` after publishing to the stream.
 */
export class PostgresHealthSnapshots {
  /** `deadline`: the handle's (client.ts); each call past it throws DatabaseDeadlineExceeded. */
  constructor(
    private readonly db: Database,
    private readonly deadline: CallDeadline | null = null,
  ) {
    if (!db) throw new Error('PostgresHealthSnapshots: db is required');
  }

  /**
   * Keeps the newest event by `occurred_at`: events of one game can be written
   * out of order (reconciler and lifecycle jobs race), and an older event
   * arriving late must not hide a newer one. Equal times: the later write wins.
   */
  async upsert(event: HealthEvent): Promise<void> {
    const values = {
      gameId: event.gameId,
      eventType: event.eventType,
      containerId: event.containerId,
      occurredAt: event.occurredAt,
      details: event.details,
    };
    const { gameId: _key, ...changes } = values;
    await withinDeadline('write health snapshot', this.deadline, () =>
      this.db
        .insert(healthSnapshots)
        .values(values)
        .onConflictDoUpdate({
          target: healthSnapshots.gameId,
          set: changes,
          setWhere: sql`${healthSnapshots.occurredAt} <= excluded.occurred_at`,
        }),
    );
  }

  async get(gameId: string): Promise<HealthEvent | null> {
    const [row] = await withinDeadline('read health snapshot', this.deadline, () =>
      this.db.select().from(healthSnapshots).where(eq(healthSnapshots.gameId, gameId)).limit(1),
    );
    if (!row) return null;
    return {
      gameId: row.gameId,
      // Written only by upsert(), from the domain's closed union.
      eventType: row.eventType as HealthEventType,
      containerId: row.containerId,
      occurredAt: row.occurredAt,
      details: row.details,
    };
  }
}
