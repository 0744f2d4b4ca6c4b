/**
 * The Redis keys of the games' order (order-scripts.ts says what each holds),
 * shared by the workers' order (game-order.ts) and the enqueuers' admission
 * (order-admission.ts): both must read the same keys and the same mutexes.
 */

/** The enqueue mutexes' key prefix: a worker's order reads the mutexes the enqueuers take. */
export const DEFAULT_MUTEX_PREFIX = 'rtmanager:enqueue:';

/** Under the BullMQ prefix, so two deployments sharing a Redis never judge each other's jobs. */
export function orderKeys(bullPrefix: string) {
  return {
    seq: `${bullPrefix}:rtm-order-seq`,
    deferredGames: `${bullPrefix}:rtm-deferred-games`,
    ofGame: (gameId: string) => `${bullPrefix}:rtm-order:${gameId}`,
    deferred: (gameId: string) => `${bullPrefix}:rtm-deferred:${gameId}`,
    joins: (gameId: string) => `${bullPrefix}:rtm-joins:${gameId}`,
    closed: (gameId: string) => `${bullPrefix}:rtm-closed:${gameId}`,
    seen: (gameId: string, kind: 'e' | 'r', id: string) => `${bullPrefix}:rtm-seen:${gameId}:${kind}:${id}`,
  };
}

export type OrderKeys = ReturnType<typeof orderKeys>;

/** An operation's entry in its game's order: its queue and its place. */
export function orderMember(queue: string, seq: number): string {
  return `${queue}/${seq}`;
}
