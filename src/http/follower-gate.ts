/**
 * Contract §16's ceiling on followed streams: a follower holds a slot while
 * it streams, and a request that finds none free answers 503
 * `service_unavailable` before it streams anything.
 */

export interface FollowerGate {
  /** A slot, as the function that frees it (once, however often it is called); null when none is free. */
  tryEnter(): (() => void) | null;
}

/** A gate of `limit` slots, counted in this process. */
export function boundedGate(limit: number): FollowerGate & { readonly inUse: number } {
  let inUse = 0;
  return {
    get inUse() {
      return inUse;
    },
    tryEnter() {
      if (inUse >= limit) return null;
      inUse += 1;
      let freed = false;
      return () => {
        if (freed) return;
        freed = true;
        inUse -= 1;
      };
    },
  };
}
