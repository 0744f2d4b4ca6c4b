/**
 * Every lifecycle queue, its name and its payload schema, in one place.
 * The job id of a lifecycle job is the game id (see enqueue.ts).
 */
import { z } from 'zod';
import { gameIdProblem } from '../domain/game-id.js';
import { OP_SOURCES } from '../domain/model.js';

export const QUEUE_NAMES = ['start-runtime', 'stop-runtime', 'restart-runtime', 'patch-runtime', 'reconcile', 'operation-log-retention'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
/** The scheduled ones: the reconciler and operation log retention (contract §13). */
type ScheduledQueue = 'reconcile' | 'operation-log-retention';
export type LifecycleQueue = Exclude<QueueName, ScheduledQueue>;
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

export const imageRefSchema = z.string().trim().min(1, 'image_ref must not be empty').max(4096);

const base = {
  gameId: gameIdSchema,
  opSource: z.enum(OP_SOURCES),
  sourceRef: z.string().max(512),
  requestId: z.string().max(256).optional(),
};

export const startPayloadSchema = z.object({ ...base, imageRef: imageRefSchema });
export const patchPayloadSchema = startPayloadSchema;
export const stopPayloadSchema = z.object(base);
export const restartPayloadSchema = stopPayloadSchema;

export type StartPayload = z.infer<typeof startPayloadSchema>;
export type StopPayload = z.infer<typeof stopPayloadSchema>;
export type LifecyclePayload = StartPayload | StopPayload;

export const PAYLOAD_SCHEMAS = {
  start: startPayloadSchema,
  stop: stopPayloadSchema,
  restart: restartPayloadSchema,
  patch: patchPayloadSchema,
} as const;
