import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure (domain + fakes, no services); `integration`
// runs against the real Redis, Postgres and Docker engine brought up by
// scripts/services.sh. `faults` restarts services and is run on its own.
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
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
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
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
