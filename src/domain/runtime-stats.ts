/**
 * Contract §16: one reading of a game's engine for the operator. The record
 * says which container is the game's; the engine reads it.
 */
import type { DockerEngine, EngineStats } from './engine-port.js';
import type { RuntimeStatus } from './model.js';
import type { RuntimeRecordStore } from './ports.js';

export type RuntimeStatsAnswer = { kind: 'reading'; stats: EngineStats } | { kind: 'no_record' } | { kind: 'not_running'; status: RuntimeStatus };

export async function readRuntimeStats(
  deps: { records: Pick<RuntimeRecordStore, 'get'>; docker: Pick<DockerEngine, 'stats'> },
  gameId: string,
): Promise<RuntimeStatsAnswer> {
  const record = await deps.records.get(gameId);
  if (!record) return { kind: 'no_record' };
  if (record.status !== 'running' || !record.currentContainerId) return { kind: 'not_running', status: record.status };
  const stats = await deps.docker.stats(record.currentContainerId);
  // The record trails the engine by up to one reconcile: an engine that has just exited is not running either.
  return stats ? { kind: 'reading', stats } : { kind: 'not_running', status: record.status };
}
