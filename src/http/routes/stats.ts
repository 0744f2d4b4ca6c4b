/** Contract §16: one reading of a game's engine — CPU, memory, processes, network. */
import { Hono } from 'hono';
import type { DockerEngine, EngineStats } from '../../domain/engine-port.js';
import type { RuntimeRecordStore } from '../../domain/ports.js';
import { readRuntimeStats } from '../../domain/runtime-stats.js';
import type { Env } from '../env.js';
import { ANSWERS, fail, invalid } from '../answers.js';
import { gameIdParam } from '../schemas.js';
import type { z } from 'zod';
import type { statsJson } from '../window-schemas.js';

export interface StatsRouteDeps {
  records: RuntimeRecordStore;
  /** The runtime backend's engine: a game's container on one engine, its task's on a swarm. */
  docker: Pick<DockerEngine, 'stats'>;
}

export function statsRoutes(deps: StatsRouteDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/runtimes/:game_id/stats', async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return invalid(c, 'game_id', gameId.error);
    const answer = await readRuntimeStats(deps, gameId.data);
    switch (answer.kind) {
      case 'no_record':
        return fail(c, 'not_found', `no runtime record for game ${gameId.data}`);
      case 'not_running':
        return fail(c, 'conflict', `game ${gameId.data} is not running (its record says ${answer.status}, or its engine has just stopped)`);
      case 'reading':
        return c.json(statsToJson(answer.stats), ANSWERS.found.status);
    }
  });

  return app;
}

function statsToJson(stats: EngineStats): z.infer<typeof statsJson> {
  return {
    cpu_percent: stats.cpuPercent,
    memory_bytes: stats.memoryBytes,
    memory_limit_bytes: stats.memoryLimitBytes,
    pids: stats.pids,
    net_rx_bytes: stats.netRxBytes,
    net_tx_bytes: stats.netTxBytes,
    read_at: stats.readAt.toISOString(),
  };
}
