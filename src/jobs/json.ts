/** The contract's snake_case JSON for records and results (times ISO-8601 UTC). */
import type { LifecycleResult } from '../domain/lifecycle.js';
import type { RuntimeRecord, StoredOperationEntry } from '../domain/model.js';

export interface RecordJson {
  game_id: string;
  status: string;
  current_container_id: string | null;
  current_image_ref: string | null;
  engine_endpoint: string | null;
  state_path: string | null;
  docker_network: string | null;
  started_at: string | null;
  stopped_at: string | null;
  last_op_at: string;
  created_at: string;
  current_image_digest: string | null;
  effective_cpu_quota: number | null;
  effective_memory_bytes: number | null;
  effective_pids_limit: number | null;
  node_id: string | null;
  node_hostname: string | null;
  health: string;
  restart_count: number;
  last_exit_code: number | null;
}

export interface ResultJson {
  outcome: 'success' | 'failure';
  error_code: string | null;
  error_message: string;
  record: RecordJson | null;
  retryable: boolean;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function recordToJson(r: RuntimeRecord): RecordJson {
  return {
    game_id: r.gameId,
    status: r.status,
    current_container_id: r.currentContainerId,
    current_image_ref: r.currentImageRef,
    engine_endpoint: r.engineEndpoint,
    state_path: r.statePath,
    docker_network: r.dockerNetwork,
    started_at: iso(r.startedAt),
    stopped_at: iso(r.stoppedAt),
    last_op_at: r.lastOpAt.toISOString(),
    created_at: r.createdAt.toISOString(),
    current_image_digest: r.currentImageDigest,
    effective_cpu_quota: r.effectiveCpuQuota,
    effective_memory_bytes: r.effectiveMemoryBytes,
    effective_pids_limit: r.effectivePidsLimit,
    node_id: r.nodeId,
    node_hostname: r.nodeHostname,
    health: r.health,
    restart_count: r.restartCount,
    last_exit_code: r.lastExitCode,
  };
}

export function resultToJson(result: LifecycleResult): ResultJson {
  return {
    outcome: result.outcome,
    error_code: result.errorCode,
    error_message: result.errorMessage,
    record: result.record ? recordToJson(result.record) : null,
    retryable: result.retryable,
  };
}

export function operationToJson(e: StoredOperationEntry) {
  return {
    id: e.id,
    game_id: e.gameId,
    op_kind: e.opKind,
    op_source: e.opSource,
    source_ref: e.sourceRef,
    image_ref: e.imageRef,
    image_digest: e.imageDigest,
    container_id: e.containerId,
    outcome: e.outcome,
    error_code: e.errorCode,
    error_message: e.errorMessage,
    started_at: e.startedAt.toISOString(),
    finished_at: e.finishedAt.toISOString(),
    exit_code: e.exitCode,
  };
}
