/** `docker stats`' figures from Docker's stats answers (recorded from Docker 20.10 on cgroup v1), and the second sample when Docker gave no earlier one. */
import { describe, expect, it } from 'vitest';
import type { DockerStatsBody } from '../../src/infra/docker/container-stats.js';
import { cpuPercent, memoryInUse, readStats, SECOND_SAMPLE_GAP_MS } from '../../src/infra/docker/container-stats.js';

/** A busy engine limited to half a CPU, on two CPUs, read with stream=false: `docker stats` showed 49.82%, 580KiB / 64MiB, 2 pids. */
const busy: DockerStatsBody = {
  read: '2026-12-07T05:45:07.756Z',
  precpu_stats: { cpu_usage: { total_usage: 1_000_000_000, percpu_usage: [600_000_000, 400_000_000] }, system_cpu_usage: 500_000_000_000, online_cpus: 2 },
  cpu_stats: { cpu_usage: { total_usage: 1_500_000_000, percpu_usage: [900_000_000, 600_000_000] }, system_cpu_usage: 502_000_000_000, online_cpus: 2 },
  memory_stats: { usage: 782_336, limit: 67_108_864, stats: { total_inactive_file: 188_416, inactive_file: 188_416, cache: 8_192 } },
  pids_stats: { current: 2 },
  networks: { eth0: { rx_bytes: 586, tx_bytes: 0 }, eth1: { rx_bytes: 14, tx_bytes: 100 } },
};

/** What Docker answers for a container that does not run: its zero time, no figures. */
const stopped: DockerStatsBody = { read: '0001-01-01T00:00:00Z', precpu_stats: {}, cpu_stats: {}, memory_stats: {} };

describe('docker stats figures', () => {
  it('CPU: its time over the machine’s, times its CPUs (one busy CPU is 100); 0 without an earlier sample or when nothing advanced', () => {
    // 0.5 s of CPU in a second: the machine's time counts both its CPUs (2 s), so 0.5 / 2 × 2 CPUs × 100.
    expect(cpuPercent(busy.cpu_stats, busy.precpu_stats)).toBe(50);
    expect(cpuPercent(busy.cpu_stats, { cpu_usage: { total_usage: 0 } })).toBe(0);
    expect(cpuPercent(busy.cpu_stats, busy.cpu_stats)).toBe(0);
    // No online_cpus (older daemons): the per-CPU list says how many.
    const { online_cpus: _a, ...noOnline } = busy.cpu_stats!;
    expect(cpuPercent(noOnline, busy.precpu_stats)).toBe(50);
  });

  it('memory: the usage less the inactive page cache (cgroup v1 total_inactive_file, else v2 inactive_file), else the usage', () => {
    expect(memoryInUse(busy.memory_stats!)).toBe(782_336 - 188_416);
    expect(memoryInUse({ usage: 1_000, stats: { inactive_file: 200 } })).toBe(800);
    expect(memoryInUse({ usage: 1_000, stats: { total_inactive_file: 5_000, inactive_file: 200 } })).toBe(800);
    expect(memoryInUse({ usage: 1_000, stats: {} })).toBe(1_000);
    expect(memoryInUse({})).toBe(0);
  });
});

describe('readStats', () => {
  it("reads Docker's own two samples in one answer: one call", async () => {
    const calls: boolean[] = [];
    const stats = await readStats((oneShot) => (calls.push(oneShot), Promise.resolve(busy)));
    expect(calls).toEqual([false]);
    expect(stats).toEqual({
      cpuPercent: 50,
      memoryBytes: 593_920,
      memoryLimitBytes: 67_108_864,
      pids: 2,
      netRxBytes: 600,
      netTxBytes: 100,
      readAt: new Date('2026-12-07T05:45:07.756Z'),
    });
  });

  it('without an earlier sample in the answer, samples again after a gap and reads the CPU from the two', async () => {
    const first: DockerStatsBody = { ...busy, cpu_stats: busy.precpu_stats, precpu_stats: { cpu_usage: { total_usage: 0 } } };
    const second: DockerStatsBody = { ...busy, read: '2026-12-07T05:45:08.256Z', precpu_stats: {} };
    const calls: boolean[] = [];
    const waits: number[] = [];
    const stats = await readStats(
      (oneShot) => (calls.push(oneShot), Promise.resolve(calls.length === 1 ? first : second)),
      (ms) => (waits.push(ms), Promise.resolve()),
    );
    expect(calls).toEqual([false, true]);
    expect(waits).toEqual([SECOND_SAMPLE_GAP_MS]);
    expect(stats).toMatchObject({ cpuPercent: 50, readAt: new Date('2026-12-07T05:45:08.256Z') });
  });

  it('a stopped container has no reading, whichever sample says so', async () => {
    expect(await readStats(() => Promise.resolve(stopped))).toBeNull();
    const noEarlier = { ...busy, precpu_stats: {} };
    let n = 0;
    expect(
      await readStats(
        () => Promise.resolve(++n === 1 ? noEarlier : stopped),
        () => Promise.resolve(),
      ),
    ).toBeNull();
  });
});
