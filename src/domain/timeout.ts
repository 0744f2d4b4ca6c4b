/**
 * A promise bounded in time, for calls whose own client has no deadline.
 * The work itself is not cancelled: callers use this where giving up waiting
 * is enough (a diagnostic, a cleanup).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'timed out'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
