/**
 * What `npm run bench` writes and prints: every key in its order with its
 * goal, and beside them where and how it was measured (the commit, the date,
 * the CPU count, the Docker version, the settings of each system).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { docker } from '../test/faults/support.js';

const GOALS: Record<string, string> = {
  start_latency_ratio: '≤ 1.05',
  health_ready_ratio: '≤ 1.10',
  crash_restart_ratio: '≤ 1.5',
  crash_restart_ms: '(median, system side)',
  burst_throughput_ratio: '≥ 0.90',
  cold_start_ratio: '≤ 1.10',
  shared_pull_ratio: '≤ 1.10',
  swarm_start_latency_ratio: '≤ 1.10',
  swarm_burst_throughput_ratio: '≥ 0.90',
  logs_follow_ratio: '≥ 0.90',
  logs_slow_reader_rss_mb: '≤ 20',
  enqueue_rps: '≥ 5000',
  enqueue_p99_ms: '≤ 10',
  enqueue_floor_rps: '(the floor, this run)',
  enqueue_ratio: '≥ 0.50',
  enqueue_p99_ratio: '≤ 2.0',
  storm_games: '',
  storm_containers: '= storm_games',
  storm_errors: '0',
  reconcile_ms_200: '≤ 1000',
  rss_mb_web: '≤ 150',
  rss_mb_worker: '≤ 150',
  rss_mb_intake: '≤ 150',
  rss_mb_all: '≤ 150',
  rss_mb_max: '≤ 150 (the largest of the four)',
};

function commit(): string {
  const git = (...args: string[]) => execFileSync('git', args).toString().trim();
  const head = git('rev-parse', 'HEAD');
  // A run of uncommitted code says so: its figures are not the commit's.
  return git('status', '--porcelain', '--untracked-files=no') ? `${head}+dirty` : head;
}

/** Writes the figures (`partial`: to partial.json, never latest.json) and prints the table. */
export async function writeReport(results: Record<string, number>, settings: Record<string, string>, partial: boolean, began: number): Promise<void> {
  const version = (await docker.version()) as { Version?: string };
  const meta = { commit: commit(), date: new Date().toISOString(), cpus: cpus().length, docker_version: version.Version ?? 'unknown', settings };
  const roles = ['rss_mb_web', 'rss_mb_worker', 'rss_mb_intake', 'rss_mb_all'].map((k) => results[k]).filter((v) => v !== undefined);
  if (roles.length) results.rss_mb_max = Math.max(...roles);
  const figures = Object.fromEntries(Object.keys(GOALS).map((k) => [k, results[k] ?? null]));
  const file = partial ? 'bench/results/partial.json' : 'bench/results/latest.json';
  await mkdir('bench/results', { recursive: true });
  await writeFile(file, `${JSON.stringify({ ...meta, ...figures }, null, 2)}\n`);
  console.log(`\ncommit ${meta.commit}, ${meta.date}, ${meta.cpus} CPUs, Docker ${meta.docker_version}`);
  for (const line of Object.values(settings)) console.log(`  ${line}`);
  console.log('\nmetric                         value      goal');
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(30)} ${String(v).padEnd(10)} ${GOALS[k]}`);
  console.log(`\nbench took ${Math.round((Date.now() - began) / 1000)} s; written to ${file}`);
}
