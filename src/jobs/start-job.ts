import type { LifecycleDeps } from '../domain/lifecycle.js';
import type { StepHook } from './lifecycle-jobs.js';
import { createLifecycleProcessor } from './lifecycle-jobs.js';

/** The `start-runtime` processor. */
export function createStartProcessor(deps: LifecycleDeps, stepHook?: StepHook) {
  return createLifecycleProcessor('start', deps, stepHook);
}
