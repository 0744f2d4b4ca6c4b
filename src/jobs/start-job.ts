import type { LifecycleDeps } from '../domain/operation.js';
import { createLifecycleProcessor } from './lifecycle-jobs.js';

/** The `start-runtime` processor. */
export function createStartProcessor(deps: LifecycleDeps, hooks: { onStep?: (step: string) => void | Promise<void> } = {}) {
  return createLifecycleProcessor('start', deps, hooks);
}
