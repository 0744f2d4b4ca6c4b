import { expect } from 'vitest';

/** A failure Result as every lifecycle returns it: no record, the message exact or matching. */
export function failure(errorCode: string, errorMessage: string | RegExp, retryable: boolean) {
  return {
    outcome: 'failure',
    errorCode,
    errorMessage: typeof errorMessage === 'string' ? errorMessage : expect.stringMatching(errorMessage),
    record: null,
    retryable,
  };
}
