import { expect } from 'vitest';
import type { LeaseConflict } from '../../src/domain/errors.js';

/** A failure Result as every lifecycle returns it: no record, the message exact or matching, and a lease conflict's coded reason. */
export function failure(errorCode: string, errorMessage: string | RegExp, retryable: boolean, lease?: LeaseConflict) {
  return {
    outcome: 'failure',
    errorCode,
    errorMessage: typeof errorMessage === 'string' ? errorMessage : expect.stringMatching(errorMessage),
    record: null,
    retryable,
    ...(lease ? { lease } : {}),
  };
}
