/**
 * The ceiling on followed streams (contract §16,
 * RTMANAGER_LOG_STREAM_MAX_FOLLOWERS): each holds a client's socket, a
 * Docker connection or a Redis read, and a buffer for as long as the client
 * stays. One gate per process, shared by every endpoint that follows (the
 * logs, the live events), so the ceiling is on all of them together.
 */
export interface FollowerGate {
  /** A place, and the function that gives it back (once: later calls do nothing); null when every place is taken. */
  tryEnter(): (() => void) | null;
  /** Places held now (the gauge `rtmanager_log_followers`). */
  readonly active: number;
  readonly max: number;
}

export function followerGate(max: number): FollowerGate {
  let active = 0;
  return {
    max,
    get active() {
      return active;
    },
    tryEnter() {
      if (active >= max) return null;
      active++;
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        active--;
      };
    },
  };
}
