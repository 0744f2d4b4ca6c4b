import { configDefaults, defineConfig } from 'vitest/config';

// `unit` is pure (domain + fakes, no services); `integration` runs against the
// real Redis, Postgres and Docker engine brought up by scripts/services.sh;
// `swarm` runs the backend-aware files of it again, and the Swarm-only ones,
// on the one-node swarm of `scripts/services.sh up --swarm`. `faults`
// restarts services and is run on its own.
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
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: true,
          maxWorkers: 2,
          // Its own group: a worker count of its own, run after the unit project.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'swarm',
          // The files that run on both backends (test/support/backend.ts), and the Swarm-only ones.
          include: [
            'test/integration/start-pipeline.test.ts',
            'test/integration/lifecycle.test.ts',
            'test/e2e/processes.e2e.test.ts',
            'test/swarm/**/*.test.ts',
          ],
          // The many-nodes proof runs on a swarm of its own: the cluster project.
          exclude: [...configDefaults.exclude, 'test/swarm/multinode*.test.ts'],
          environment: 'node',
          env: { RTM_TEST_BACKEND: 'swarm' },
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One file at a time: two cores, and one engine doing a swarm manager's work too.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
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
          sequence: { groupOrder: 3 },
        },
      },
      {
        // Issue 13's many-nodes proof: a swarm of three dockerd in network
        // namespaces of their own (scripts/swarm-nodes.sh), one file at a time.
        test: {
          name: 'cluster',
          include: ['test/swarm/multinode*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
