import { defineConfig } from 'vitest/config';

// One project a folder of test/: `unit` is pure (domain + fakes, no services);
// `integration` runs the adapters and pipelines against the real Redis,
// Postgres and Docker engine brought up by scripts/services.sh, `e2e` the
// Procfile processes and the dashboard on them; `swarm` the Swarm-only files
// and the backend-aware suites (test/suites) again, on the one-node swarm of
// `scripts/services.sh up --swarm`; `faults` restarts services and is run on
// its own; `cluster` needs a swarm of three nodes.
const onServices = {
  environment: 'node',
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          ...onServices,
          fileParallelism: true,
          maxWorkers: 2,
          // Its own group: a worker count of its own, run after the unit project.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          ...onServices,
          fileParallelism: true,
          maxWorkers: 2,
          // Its own group, after integration: two files at a time, as when it was part of that project.
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: 'swarm',
          // The Swarm-only files, and thin ones running the suites both backends share
          // (test/suites, test/support/backend.ts) on this one.
          include: ['test/swarm/**/*.test.ts'],
          ...onServices,
          env: { RTM_TEST_BACKEND: 'swarm' },
          // One file at a time: two cores, and one engine doing a swarm manager's work too.
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
      {
        // Issue 13's many-nodes proof: a swarm of three dockerd in network
        // namespaces of their own (scripts/swarm-nodes.sh), one file at a time.
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 5 },
        },
      },
    ],
  },
});
