import type { NotificationIntent, NotificationType } from './model.js';

/**
 * Contract §6. The key is scoped per (type, game, attempt time) so the same
 * failure observed twice is recognised as a duplicate by the Notification
 * Service.
 */
export function idempotencyKey(type: NotificationType, gameId: string, attemptedAtMs: number): string {
  return `${type}.${gameId}.${attemptedAtMs}`;
}

export function failureIntent(args: {
  type: NotificationType;
  gameId: string;
  imageRef: string;
  errorCode: string;
  errorMessage: string;
  attemptedAt: Date;
}): NotificationIntent {
  const attemptedAtMs = args.attemptedAt.getTime();
  return {
    notificationType: args.type,
    idempotencyKey: idempotencyKey(args.type, args.gameId, attemptedAtMs),
    audience: 'admin',
    occurredAt: args.attemptedAt,
    payload: {
      game_id: args.gameId,
      image_ref: args.imageRef,
      error_code: args.errorCode,
      error_message: args.errorMessage,
      attempted_at_ms: attemptedAtMs,
    },
  };
}
