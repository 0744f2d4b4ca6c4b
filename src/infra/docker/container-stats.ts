/**
 * One reading of a container's use (contract §16), computed as the Docker
 * CLI's `docker stats` computes it, from the daemon's
 * `GET /containers/{id}/stats?stream=false` (Engine API 1.41). Both engines
 * read it here: one engine of its container, a swarm of its task's container
 * on the manager's own node.
 *
 * CPU is a rate, so a reading needs two samples. Without `one-shot`, Docker
 * 20.10 answers after its collector's next tick (about a second) with the
 * tick before in `precpu_stats`: its own two samples. Should `precpu_stats`
 * come back empty (a daemon that answered from its first sample, or `one-shot`
 * semantics), a second sample is taken SECOND_SAMPLE_GAP_MS later and the
 * rate computed from the two.
 */
import type { EngineStats } from '../../domain/engine-port.js';
import type { DaemonClient } from './daemon-client.js';
import { parseDockerTime } from './daemon-errors.js';

/** The fields of Docker's stats answer that are read (cgroup v1 and v2 alike); any of them may be missing. */
export interface DockerStatsBody {
  read?: string;
  cpu_stats?: DockerCpuStats;
  precpu_stats?: DockerCpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

interface DockerCpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** Between the two samples when Docker gave no previous one: long enough for a rate, short enough for a request. */
export const SECOND_SAMPLE_GAP_MS = 500;

/** A sample of the container's stats; `oneShot`: the daemon answers at once, without waiting for its next tick. */
export type StatsSampler = (oneShot: boolean) => Promise<DockerStatsBody>;

/**
 * The reading, from Docker's own two samples or, when it gave only one, from
 * that and a second; null when the answer is a stopped container's (Docker
 * answers one with its zero time and no figures).
 */
export async function readStats(
  sample: StatsSampler,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<EngineStats | null> {
  const first = await sample(false);
  if (!parseDockerTime(first.read)) return null;
  if (hasCpuSample(first.precpu_stats)) return statsOf(first, first.precpu_stats);
  await wait(SECOND_SAMPLE_GAP_MS);
  const second = await sample(true);
  if (!parseDockerTime(second.read)) return null;
  return statsOf(second, first.cpu_stats);
}

/** Samples the container `id` through the client, each under the client's deadline. */
export function daemonSampler(client: DaemonClient, id: string): StatsSampler {
  return (oneShot) =>
    client.call('stats', async (abortSignal) => {
      const options = { stream: false as const, abortSignal, ...(oneShot ? { 'one-shot': true } : {}) };
      return await client.docker.getContainer(id).stats(options);
    });
}

/** Docker leaves `precpu_stats` without a system time (and its usage 0) when it has no earlier sample. */
function hasCpuSample(cpu: DockerCpuStats | undefined): cpu is DockerCpuStats {
  return (cpu?.system_cpu_usage ?? 0) > 0;
}

export function statsOf(body: DockerStatsBody, previous: DockerCpuStats | undefined): EngineStats {
  const networks = Object.values(body.networks ?? {});
  return {
    cpuPercent: cpuPercent(body.cpu_stats, previous),
    memoryBytes: memoryInUse(body.memory_stats ?? {}),
    memoryLimitBytes: body.memory_stats?.limit ?? 0,
    pids: body.pids_stats?.current ?? 0,
    netRxBytes: networks.reduce((sum, n) => sum + (n.rx_bytes ?? 0), 0),
    netTxBytes: networks.reduce((sum, n) => sum + (n.tx_bytes ?? 0), 0),
    readAt: parseDockerTime(body.read) ?? new Date(),
  };
}

/**
 * The CLI's formula (cli/command/container/stats_helpers.go): the container's
 * CPU time over the machine's, times its CPUs, so one busy CPU is 100. 0 when
 * either did not advance (or there is no earlier sample); two decimals.
 */
export function cpuPercent(current: DockerCpuStats | undefined, previous: DockerCpuStats | undefined): number {
  const cpuDelta = (current?.cpu_usage?.total_usage ?? 0) - (previous?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (current?.system_cpu_usage ?? 0) - (previous?.system_cpu_usage ?? 0);
  if (!hasCpuSample(previous) || cpuDelta <= 0 || systemDelta <= 0) return 0;
  const cpus = current?.online_cpus || current?.cpu_usage?.percpu_usage?.length || 1;
  return Math.round((cpuDelta / systemDelta) * cpus * 100 * 100) / 100;
}

/**
 * Memory in use as `docker stats` shows it since Docker 20.10's CLI
 * (calculateMemUsageUnixNoCache): the usage minus the inactive page cache,
 * which the kernel reclaims before it would OOM-kill the engine —
 * `total_inactive_file` on cgroup v1, `inactive_file` on cgroup v2 — when
 * that is below the usage; else the usage. (Older CLIs subtracted `cache`.)
 */
export function memoryInUse(memory: NonNullable<DockerStatsBody['memory_stats']>): number {
  const usage = memory.usage ?? 0;
  const v1 = memory.stats?.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = memory.stats?.inactive_file ?? 0;
  return v2 < usage ? usage - v2 : usage;
}
