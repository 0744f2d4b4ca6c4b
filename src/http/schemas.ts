/**
 * The HTTP shapes, as zod schemas: the handlers parse with them and the
 * OpenAPI document is generated from them, so the two cannot disagree.
 */
import { z } from 'zod';
import { GAME_ID_PATTERN_SOURCE } from '../domain/game-id.js';
import { ERROR_CODES } from '../domain/errors.js';
import { RUNTIME_HEALTHS, RUNTIME_STATUSES } from '../domain/model.js';
import { gameIdSchema, imageRefSchema, sourceRefSchema } from '../jobs/queues.js';

// The pattern is checked in a refinement (for its message), so the document is told it here.
export const gameIdParam = gameIdSchema.meta({
  description: 'game id (not all digits: it is also the BullMQ job id)',
  pattern: GAME_ID_PATTERN_SOURCE,
  example: 'g-1042',
});

export const startBody = z
  .object({
    image_ref: imageRefSchema.meta({ description: 'engine image, Docker reference grammar', example: 'registry.galaxy.example/engines/galaxy:1.4.2' }),
    source_ref: sourceRefSchema.optional().meta({ description: 'opaque caller reference, kept in the audit row' }),
  })
  .strict();

export const patchBody = startBody;

export const emptyBody = z.object({ source_ref: sourceRefSchema.optional() }).strict();

/** The longest `?wait`: the HTTP server's request deadline is set above it (server.ts). */
export const MAX_WAIT_SECONDS = 60;

export const waitQuery = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .meta({ description: `seconds to wait for the job to finish (≤ ${MAX_WAIT_SECONDS}); a bounded number of requests may wait at once (503 beyond)` }),
});

export const listQuery = z.object({
  status: z.enum(RUNTIME_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(64).optional(),
});

export const operationsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

export const recordJson = z
  .object({
    game_id: z.string(),
    status: z.enum(RUNTIME_STATUSES),
    current_container_id: z.string().nullable(),
    current_image_ref: z.string().nullable(),
    engine_endpoint: z.string().nullable(),
    state_path: z.string().nullable(),
    docker_network: z.string().nullable(),
    started_at: z.string().nullable(),
    stopped_at: z.string().nullable(),
    last_op_at: z.string(),
    created_at: z.string(),
    current_image_digest: z
      .string()
      .nullable()
      .meta({
        description: '`sha256:…`: the repo digest the image was pulled by, else the local image id; kept when the game stops',
        example: `sha256:${'0'.repeat(64)}`,
      }),
    effective_cpu_quota: z.number().nullable().meta({ description: 'CPUs the container really got (Docker NanoCpus / 1e9); null once stopped' }),
    effective_memory_bytes: z.number().int().nullable().meta({ description: 'memory limit the container really got, in bytes; null once stopped' }),
    effective_pids_limit: z.number().int().nullable().meta({ description: 'process limit the container really got; null once stopped' }),
    node_id: z.string().nullable().meta({
      description: "the id of the cluster node the engine runs on (Swarm's node id); null on one engine and once stopped, kept when it exits or disappears",
      example: 'n4bxkq2pdlvw3hygx7cm9rjse',
    }),
    node_hostname: z.string().nullable().meta({
      description: "that node's hostname; null on one engine and once stopped, kept when it exits or disappears",
      example: 'worker-2',
    }),
    health: z.enum(RUNTIME_HEALTHS).meta({
      description: "the engine's Docker HEALTHCHECK as last seen: `healthy`, `unhealthy`, `starting`, or `none` for an image without one",
    }),
    restart_count: z.number().int().meta({ description: 'crash restarts the manager made in the current crash-restart window' }),
    last_exit_code: z.number().int().nullable().meta({ description: "the exit code of the engine's last exit; null while it never exited" }),
  })
  .meta({ id: 'RuntimeRecord' });

export const resultJson = z
  .object({
    outcome: z.enum(['success', 'failure']),
    error_code: z.enum(ERROR_CODES).nullable(),
    error_message: z.string(),
    record: recordJson.nullable(),
    retryable: z.boolean(),
  })
  .meta({ id: 'Result' });

export const enqueueResponse = z
  .object({
    job_id: z.string(),
    game_id: z.string(),
    state: z.string(),
    poll_url: z.string(),
    result: resultJson.optional(),
  })
  .meta({ id: 'EnqueueResponse' });

export const pollResponse = z
  .object({
    job_id: z.string(),
    state: z.string(),
    attempts: z.number().int().nullable(),
    progress: z.unknown().meta({
      description:
        'a start that pulls its image: {"step":"pull_image","layers_done","layers_total","bytes_done","bytes_total"} (bytes 0 when the registry does not say), its last value kept once the pull ended; 0 before any; null from the operation log',
    }),
    result: resultJson.optional().meta({ description: 'present once the job finished (completed or failed)' }),
    last_failure: resultJson.optional().meta({ description: 'a job still pending after a failed attempt: why that attempt failed (it will be retried)' }),
    source: z.enum(['queue', 'operation_log']).meta({ description: 'the queue, or the operation log once BullMQ has trimmed the job' }),
  })
  .meta({ id: 'JobPoll' });

export const operationJson = z
  .object({
    id: z.number().int(),
    game_id: z.string(),
    op_kind: z.string(),
    op_source: z.string(),
    source_ref: z.string(),
    image_ref: z.string(),
    image_digest: z.string().nullable().meta({ description: "the image's digest (as the record's current_image_digest) once the operation knew it" }),
    container_id: z.string(),
    outcome: z.enum(['success', 'failure']),
    error_code: z.string(),
    error_message: z.string(),
    started_at: z.string(),
    finished_at: z.string(),
    exit_code: z.number().int().nullable().meta({ description: "the engine's exit code when the operation ended it (a stop), else null" }),
  })
  .meta({ id: 'Operation' });

export const HTTP_ERROR_CODES = [...ERROR_CODES, 'unauthorized', 'forbidden', 'not_found', 'payload_too_large'] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

export const errorJson = z.object({ error: z.object({ code: z.enum(HTTP_ERROR_CODES), message: z.string() }) }).meta({ id: 'Error' });
