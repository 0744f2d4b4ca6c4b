/**
 * Tables of contract §7. Generated into ./drizzle by `npm run db:generate`;
 * the migrations there are the schema of record, this file is their source.
 */
import { sql } from 'drizzle-orm';
import { bigint, check, customType, doublePrecision, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Game ids compare byte-wise everywhere (the fakes, PGlite, any Postgres),
 * whatever locale the cluster was created with: the list API pages by
 * `game_id > cursor`, and under a linguistic collation (en_US) `-`, `_` and
 * case would reorder ids between the adapter and everything else.
 */
const gameIdText = customType<{ data: string; driverData: string }>({
  dataType: () => 'text COLLATE "C"',
});

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const runtimeRecords = pgTable(
  'runtime_records',
  {
    gameId: gameIdText('game_id').primaryKey(),
    status: text('status').notNull(),
    currentContainerId: text('current_container_id'),
    currentImageRef: text('current_image_ref'),
    engineEndpoint: text('engine_endpoint'),
    statePath: text('state_path'),
    dockerNetwork: text('docker_network'),
    startedAt: timestamptz('started_at'),
    stoppedAt: timestamptz('stopped_at'),
    lastOpAt: timestamptz('last_op_at').notNull(),
    createdAt: timestamptz('created_at').notNull(),
    /** The fencing number of the operation that wrote the row (contract §10); a lower one may not overwrite it. */
    leaseFence: bigint('lease_fence', { mode: 'number' }).notNull().default(0),
    /** Contract §11; NULL on rows written before they were recorded. */
    currentImageDigest: text('current_image_digest'),
    effectiveCpuQuota: doublePrecision('effective_cpu_quota'),
    effectiveMemoryBytes: bigint('effective_memory_bytes', { mode: 'number' }),
    effectivePidsLimit: bigint('effective_pids_limit', { mode: 'number' }),
    /** Where the engine runs on a cluster; NULL on one engine, while nothing runs, and on rows written before it was recorded. */
    nodeId: text('node_id'),
    nodeHostname: text('node_hostname'),
    /** Contract §15: 'none' on rows written before health was followed. */
    health: text('health').notNull().default('none'),
    restartCount: integer('restart_count').notNull().default(0),
    lastExitCode: integer('last_exit_code'),
  },
  (t) => [
    index('runtime_records_status_game_id_idx').on(t.status, t.gameId),
    check('runtime_records_status_check', sql`${t.status} in ('running', 'stopped', 'exited', 'removed')`),
    check('runtime_records_health_check', sql`${t.health} in ('healthy', 'unhealthy', 'starting', 'none')`),
  ],
);

export const operationLog = pgTable(
  'operation_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    gameId: gameIdText('game_id').notNull(),
    opKind: text('op_kind').notNull(),
    opSource: text('op_source').notNull(),
    sourceRef: text('source_ref').notNull().default(''),
    imageRef: text('image_ref').notNull().default(''),
    /** Contract §11; NULL when the operation did not know it, and on rows written before it was recorded. */
    imageDigest: text('image_digest'),
    containerId: text('container_id').notNull().default(''),
    outcome: text('outcome').notNull(),
    errorCode: text('error_code').notNull().default(''),
    errorMessage: text('error_message').notNull().default(''),
    startedAt: timestamptz('started_at').notNull(),
    finishedAt: timestamptz('finished_at').notNull(),
    /** Contract §15: the engine's exit code when the operation ended it; NULL otherwise. */
    exitCode: integer('exit_code'),
  },
  (t) => [
    index('operation_log_game_id_id_idx').on(t.gameId, t.id.desc()),
    index('operation_log_game_id_op_kind_id_idx').on(t.gameId, t.opKind, t.id.desc()),
    // Retention deletes the oldest rows in batches: each batch finds them here, not by a scan.
    index('operation_log_finished_at_idx').on(t.finishedAt),
  ],
);

export const healthSnapshots = pgTable('health_snapshots', {
  gameId: gameIdText('game_id').primaryKey(),
  eventType: text('event_type').notNull(),
  containerId: text('container_id').notNull(),
  occurredAt: timestamptz('occurred_at').notNull(),
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
});

export const schema = { runtimeRecords, operationLog, healthSnapshots };
export type Schema = typeof schema;
