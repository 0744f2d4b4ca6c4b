/**
 * Issue 22's figures, on the compiled web process as the Procfile runs it:
 * - `logs_follow_ratio`: an engine floods its output (galaxy-test-engine:chatter,
 *   FLOOD lines of about 150 bytes at once) while two readers follow it from
 *   the same moment: `docker logs -f` (the CLI, on the same daemon) and a
 *   client of the API's logs route (NDJSON). Each round's figure is the raw
 *   side's time from the flood's trigger to its last line over the API's:
 *   lines per second delivered, through the API against the CLI. The
 *   figure is the median of the rounds (a new game each round: the engine
 *   floods once).
 * - `logs_slow_reader_rss_mb`: beside them a third follower never reads; the
 *   web process's resident memory at its peak during the rounds, less what it
 *   was before the first.
 * The flood stays under the default log rotation (max-size 10m): Docker
 * 20.10's json-file follow can skip or repeat lines across a rotation, on
 * either side.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { FaultSystem } from '../test/faults/support.js';
import { cpuMs, residentBytes } from '../test/support/process-probes.js';
import { median } from './measure.js';

const IMAGE = 'galaxy-test-engine:chatter';
const MB = 1024 * 1024;
/** The chatter's last line of a flood. */
const DONE = 'flood done';
const ROUND_DEADLINE_MS = 120_000;

export interface LogsFollow {
  ratio: number;
  rssMb: number;
  /** `webCpuMs`: the CPU the web process spent in the round, for its two followers. */
  rounds: Array<{ rawMs: number; apiMs: number; ratio: number; webCpuMs: number }>;
}

/** Resolves with the time `marker` first appears in `stream`'s bytes (a marker split across two chunks is still seen). */
function heardAt(stream: NodeJS.ReadableStream, marker: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`"${marker}" not heard in ${ROUND_DEADLINE_MS} ms`)), ROUND_DEADLINE_MS);
    const onData = (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      if (text.includes(marker)) {
        clearTimeout(timer);
        stream.removeListener('data', onData);
        resolve(performance.now());
        return;
      }
      tail = text.slice(-marker.length);
    };
    stream.on('data', onData);
    stream.on('error', reject);
  });
}

function follow(s: FaultSystem, gameId: string): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const url = `${s.base}/api/v1/internal/runtimes/${gameId}/logs?tail=0&follow=true`;
    const req = http.get(url, { headers: { authorization: `Bearer ${s.token}` }, agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`logs answered ${res.statusCode}`));
      else resolve({ res, req });
    });
    req.on('error', reject);
  });
}

/** `docker logs -f` on the container, its output read as the API client reads its own; resolves once it has begun. */
async function cliFollow(containerId: string): Promise<ChildProcess> {
  const cli = spawn('docker', ['logs', '--follow', '--timestamps', '--tail', '0', containerId], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Its stderr is the engine's stderr: read it too, or the pipe fills and the CLI stalls.
  cli.stderr.resume();
  await new Promise((r) => setTimeout(r, 500));
  if (cli.exitCode !== null) throw new Error(`docker logs exited with ${cli.exitCode}`);
  return cli;
}

export async function logsFollow(s: FaultSystem, web: ChildProcess, rounds: number, lines: number): Promise<LogsFollow> {
  const baseline = residentBytes(web.pid!);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(web.pid!))), 50);
  const results: LogsFollow['rounds'] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const gameId = s.gameId(`logs${round}`);
      const answer = (await (await s.post(`/runtimes/${gameId}/start?wait=60`, { image_ref: IMAGE })).json()) as { state: string };
      if (answer.state !== 'completed') throw new Error(`${gameId}: start ${answer.state}`);
      const record = await s.records.get(gameId);
      const paused = await follow(s, gameId);
      paused.res.pause();
      const api = await follow(s, gameId);
      const cli = await cliFollow(record!.currentContainerId!);
      const apiDone = heardAt(api.res, `"line":"${DONE}"`);
      const cliDone = heardAt(cli.stdout!, ` ${DONE}\n`);
      const t = performance.now();
      const cpuBefore = cpuMs(web.pid!);
      await writeFile(path.join(s.env.RTMANAGER_GAME_STATE_ROOT!, gameId, 'flood'), String(lines));
      const [apiAt, cliAt] = await Promise.all([apiDone, cliDone]);
      const rawMs = cliAt - t;
      const apiMs = apiAt - t;
      results.push({ rawMs: Math.round(rawMs), apiMs: Math.round(apiMs), ratio: +(rawMs / apiMs).toFixed(3), webCpuMs: cpuMs(web.pid!) - cpuBefore });
      // Whatever the web still holds for the paused reader, it holds now.
      await new Promise((r) => setTimeout(r, 1_000));
      cli.kill();
      api.req.destroy();
      paused.req.destroy();
      const stopped = await s.post(`/runtimes/${gameId}/stop?wait=60`, {});
      await stopped.body?.cancel();
    }
  } finally {
    clearInterval(sampler);
  }
  return {
    ratio: +median(results.map((r) => r.ratio)).toFixed(3),
    rssMb: +((peak - baseline) / MB).toFixed(1),
    rounds: results,
  };
}
