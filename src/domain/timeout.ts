/**
 * A promise bounded in time, for calls whose own client has no deadline.
 * The work itself is not cancelled: callers use this where giving up waiting
 * is enough (a diagnostic, a cleanup).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
