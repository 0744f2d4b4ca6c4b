import type { LifecycleDeps } from '../../src/domain/lifecycle.js';
import type { StepHook } from '../../src/jobs/lifecycle-jobs.js';
import { createLifecycleProcessor } from '../../src/jobs/lifecycle-jobs.js';

/** The `start-runtime` processor. */
export function createStartProcessor(deps: LifecycleDeps, stepHook?: StepHook) {
  return createLifecycleProcessor('start', deps, stepHook);
}
