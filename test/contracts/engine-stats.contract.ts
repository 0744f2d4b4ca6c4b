import { expect, it } from 'vitest';
import type { DockerEngineSubject } from './docker-engine.contract.js';
import { contractRunSpec } from './docker-engine.contract.js';
import type { subjectRunner } from './subject.js';

/** The suites' engines get half a CPU (contract spec): a busy one reads about 50, never much more. */
const HALF_A_CPU_CEILING = 60;

/** Contract §16: DockerEngine.stats, one reading of a running engine. Part of the DockerEngine contract. */
export function describeStatsContract(withSubject: ReturnType<typeof subjectRunner<DockerEngineSubject>>): void {
  it(
    "reads a running engine's use: memory in use within its limit, its processes, read just now; nothing once it stopped or for no container",
    withSubject(async (s) => {
      const run = await s.port.run(contractRunSpec(s, 'stats'));
      const asked = Date.now();
      const stats = await s.port.stats(run.containerId);
      expect(stats).not.toBeNull();
      const { readAt, ...figures } = stats!;
      // The limit is the one the engine was run with (64m), and what is in use is some of it.
      expect(figures.memoryLimitBytes).toBe(64 * 1024 * 1024);
      expect(figures.memoryBytes).toBeGreaterThan(0);
      expect(figures.memoryBytes).toBeLessThan(figures.memoryLimitBytes);
      // Its init and the engine, within its pids limit.
      expect(figures.pids).toBeGreaterThanOrEqual(1);
      expect(figures.pids).toBeLessThanOrEqual(64);
      expect(figures.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(figures.cpuPercent).toBeLessThan(HALF_A_CPU_CEILING);
      for (const n of [figures.netRxBytes, figures.netTxBytes]) expect(Number.isInteger(n) && n >= 0, String(n)).toBe(true);
      expect(readAt.getTime()).toBeGreaterThan(asked - 5_000);
      expect(readAt.getTime()).toBeLessThan(Date.now() + 1_000);
      await s.port.stop(run.containerId, 1);
      expect(await s.port.stats(run.containerId)).toBeNull();
      expect(await s.port.stats(`${s.prefix}-ghost`)).toBeNull();
    }),
  );

  it(
    'reads the CPU an engine keeps busy, as `docker stats` counts it: half a CPU is about 50',
    withSubject(async (s) => {
      const run = await s.port.run(contractRunSpec(s, 'busy', { image: s.busyImage }));
      // Its first second may find it still starting: the reading after that is its steady use.
      await new Promise((r) => setTimeout(r, 1_000));
      const stats = await s.port.stats(run.containerId);
      expect(stats?.cpuPercent).toBeGreaterThan(10);
      expect(stats?.cpuPercent).toBeLessThan(HALF_A_CPU_CEILING);
    }),
  );
}
