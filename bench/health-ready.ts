/**
 * `health_ready_ratio` (issue 21): an engine whose HEALTHCHECK passes on its
 * first probe, started through the system (POST start → its
 * `container_started` event, which follows the `await_healthy` step and the
 * record write) against a raw create + start + Docker's
 * `health_status: healthy` event, both waited for through the daemon's
 * events as the system waits. One image on both sides, so one probe interval.
 * The side that goes first alternates, and each pair gives a ratio: the
 * figure is their median.
 */
import type Dockerode from 'dockerode';
import type { Redis } from 'ioredis';
import type { FaultSystem } from '../test/faults/support.js';
import { docker } from '../test/faults/support.js';
import { median, timedStart } from './measure.js';

/** HEALTHCHECK `true` every second: healthy at its first probe, a second after the start (scripts/build-test-images.sh). */
export const HEALTHY_IMAGE = 'galaxy-test-engine:healthy';
/** After each pair, for the system to hear of its container's removal before the next pair is timed. */
const SETTLE_MS = 1_500;
const RAW_DEADLINE_MS = 30_000;

export interface HealthReady {
  ratio: number;
  rawMs: number[];
  sysMs: number[];
}

/** Raw create, start, and Docker's first `healthy`: the events are asked from the create on, so none is missed. */
async function rawUntilHealthy(create: () => Promise<Dockerode.Container>): Promise<{ ms: number; container: Dockerode.Container }> {
  const t = performance.now();
  const since = (Date.now() - 1) / 1000;
  const container = await create();
  const stream = (await docker.getEvents({
    since,
    filters: { type: ['container'], container: [container.id], event: ['health_status', 'die'] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  try {
    const healthy = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw: not healthy in ${RAW_DEADLINE_MS} ms`)), RAW_DEADLINE_MS);
      let buffer = '';
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          const action = (JSON.parse(buffer.slice(0, newline)) as { Action?: string }).Action;
          buffer = buffer.slice(newline + 1);
          if (action === 'health_status: healthy') {
            clearTimeout(timer);
            resolve();
          } else if (action === 'health_status: unhealthy' || action === 'die') {
            clearTimeout(timer);
            reject(new Error(`raw: ${action} before healthy`));
          }
        }
      });
      stream.on('error', reject);
    });
    await container.start();
    await healthy;
    return { ms: performance.now() - t, container };
  } finally {
    stream.destroy();
  }
}

export async function healthReadyRatio(
  system: FaultSystem,
  watcher: Redis,
  samples: number,
  rawCreate: (name: string, image: string) => Promise<Dockerode.Container>,
): Promise<HealthReady> {
  const rawMs: number[] = [];
  const sysMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const gameId = system.gameId(`ready${i}`);
    const raw = () => rawUntilHealthy(() => rawCreate(`bench-ready-${system.run}-${i}`, HEALTHY_IMAGE));
    const sys = async () => {
      const ms = await timedStart(system, watcher, gameId, HEALTHY_IMAGE);
      const record = await system.records.get(gameId);
      if (record?.health !== 'healthy') throw new Error(`${gameId}: started with health ${record?.health}`);
      return ms;
    };
    let rawRun: Awaited<ReturnType<typeof rawUntilHealthy>>;
    if (i % 2 === 0) {
      rawRun = await raw();
      sysMs.push(await sys());
    } else {
      sysMs.push(await sys());
      rawRun = await raw();
    }
    rawMs.push(rawRun.ms);
    // Neither engine probes on beside the next pair.
    await rawRun.container.remove({ force: true });
    await docker.getContainer(`galaxy-game-${gameId}`).remove({ force: true });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
  const ratios = sysMs.map((ms, i) => ms / rawMs[i]!);
  return { ratio: +median(ratios).toFixed(3), rawMs, sysMs };
}
