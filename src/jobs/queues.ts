/**
 * Every lifecycle queue, its name and its payload schema, in one place.
 * The job id of a lifecycle job is the game id (see enqueue.ts).
 */
import { z } from 'zod';
import { gameIdProblem } from '../domain/game-id.js';
import { MANAGER_OP_SOURCE, OP_SOURCES } from '../domain/model.js';
import { IMAGE_REF_MAX_LENGTH, REQUEST_ID_MAX_LENGTH, SOURCE_REF_MAX_LENGTH } from '../domain/request-bounds.js';

export const QUEUE_NAMES = [
  'start-runtime',
  'stop-runtime',
  'restart-runtime',
  'patch-runtime',
  'reconcile',
  'operation-log-retention',
  'crash-restart',
] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
/**
 * Not a game's operation: the scheduled ones (the reconciler and operation
 * log retention, contract §13) and the crash restarts waiting out their
 * backoff (crash-restarts.ts), each of which becomes a restart when due.
 */
type ServiceQueue = 'reconcile' | 'operation-log-retention' | 'crash-restart';
export type LifecycleQueue = Exclude<QueueName, ServiceQueue>;
export type LifecycleKind = 'start' | 'stop' | 'restart' | 'patch';

export const QUEUE_OF: Record<LifecycleKind, LifecycleQueue> = {
  start: 'start-runtime',
  stop: 'stop-runtime',
  restart: 'restart-runtime',
  patch: 'patch-runtime',
};

export const gameIdSchema = z.string().superRefine((value, ctx) => {
  const problem = gameIdProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const longerThan = (max: number) => ({ error: (issue: { input?: unknown }) => `must be at most ${max} characters (got ${String(issue.input).length})` });

export const imageRefSchema = z.string().trim().min(1, 'image_ref must not be empty').max(IMAGE_REF_MAX_LENGTH, longerThan(IMAGE_REF_MAX_LENGTH));

export const sourceRefSchema = z.string().max(SOURCE_REF_MAX_LENGTH, longerThan(SOURCE_REF_MAX_LENGTH));

// The same bounds as every door's (contract §12): a payload a door let through never fails here.
const base = {
  gameId: gameIdSchema,
  opSource: z.enum(OP_SOURCES, { error: (issue) => `must be one of ${OP_SOURCES.join(', ')} (got ${JSON.stringify(String(issue.input).slice(0, 64))})` }),
  sourceRef: sourceRefSchema,
  requestId: z.string().max(REQUEST_ID_MAX_LENGTH, longerThan(REQUEST_ID_MAX_LENGTH)).optional(),
};

export const startPayloadSchema = z.object({ ...base, imageRef: imageRefSchema });
export const patchPayloadSchema = startPayloadSchema;
export const stopPayloadSchema = z.object(base);

/** Contract §15: a crash the policy answers (EngineCrash). */
export const engineCrashSchema = z.object({
  containerId: z.string().min(1).max(128),
  reason: z.enum(['exit', 'oom', 'unhealthy']),
  exitCode: z.number().int().nullable(),
  oomKilled: z.boolean(),
});

/** A crash restart: the manager's own restart (crash-restarts.ts adds it); no door lets a request name its source. */
export const crashRestartPayloadSchema = z.object({ ...base, opSource: z.literal(MANAGER_OP_SOURCE), crash: engineCrashSchema });
export const restartPayloadSchema = z.union([crashRestartPayloadSchema, stopPayloadSchema]);

export type StartPayload = z.infer<typeof startPayloadSchema>;
export type StopPayload = z.infer<typeof stopPayloadSchema>;
export type CrashRestartPayload = z.infer<typeof crashRestartPayloadSchema>;
export type LifecyclePayload = StartPayload | StopPayload | CrashRestartPayload;

export const PAYLOAD_SCHEMAS = {
  start: startPayloadSchema,
  stop: stopPayloadSchema,
  restart: restartPayloadSchema,
  patch: patchPayloadSchema,
} as const;
