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

/** Contract §16: the most lines a log read may ask for from the end. */
export const MAX_LOG_TAIL = 10_000;

const UNIX_SECONDS = /^\d{1,11}(\.\d{1,9})?$/;
// A date, or a date and time with its zone: a time without one would be read in the server's.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `since` as unix seconds (a fraction allowed) or ISO-8601; null when it is neither. */
export function parseSince(value: string): Date | null {
  const date = UNIX_SECONDS.test(value) ? new Date(Number(value) * 1000) : ISO_8601.test(value) ? new Date(value) : null;
  return date && Number.isFinite(date.getTime()) ? date : null;
}

export const logsQuery = z.object({
  tail: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_LOG_TAIL)
    .default(200)
    .meta({ description: `lines from the end of what the engine wrote before the read (≤ ${MAX_LOG_TAIL}; 0: none)` }),
  since: z
    .string()
    .transform((value, ctx) => {
      const date = parseSince(value);
      if (!date) ctx.addIssue({ code: 'custom', message: 'must be unix seconds (e.g. 1765100000.5) or ISO-8601 with a zone (e.g. 2026-12-07T10:00:00Z)' });
      return date ?? new Date(0);
    })
    .optional()
    .meta({ description: 'only lines written at or after it: unix seconds, or ISO-8601 (a time needs its zone)', example: '2026-12-07T10:00:00Z' }),
  follow: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((value) => value === 'true' || value === '1')
    .meta({ description: 'then every line as the engine writes it, until it stops (a bounded number of followers at once: 503 beyond)' }),
});

export const logLineJson = z
  .object({
    ts: z.string().meta({ description: 'when Docker read the line: RFC 3339, UTC, to the nanosecond', example: '2026-12-07T10:00:00.123456789Z' }),
    stream: z.enum(['stdout', 'stderr']),
    line: z.string().meta({ description: 'the line without its newline: at most 16 KiB of UTF-8, bytes that were not UTF-8 as U+FFFD' }),
    truncated: z.literal(true).optional().meta({ description: 'present when the line was longer than 16 KiB and was cut' }),
  })
  .meta({ id: 'LogLine' });

export const logDroppedJson = z
  .object({ dropped: z.number().int().min(1) })
  .meta({ id: 'LogDropped', description: 'lines left out here because the reader did not keep up (RTMANAGER_LOG_STREAM_BUFFER_BYTES)' });

export const logEndJson = z
  .object({ end: z.literal(true), exit_code: z.number().int().nullable() })
  .meta({ id: 'LogEnd', description: "a followed stream's last line: the container stopped, with its exit code (null when it is not known)" });

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
