import { afterEach, describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { gameContainer } from '../support/backend.js';
import type { RealWorld } from '../support/real-world.js';
import { realWorld } from '../support/real-world.js';
import { testApp } from '../support/test-app.js';

const LABELLED = 'galaxy-test-engine:labelled';
const who = { opSource: 'admin_rest' as const, sourceRef: 'it' };
const worlds: RealWorld[] = [];

/**
 * Contract §16's stats through the API, of a game the domain started on the
 * backend RTM_TEST_BACKEND names: run by test/integration on one engine and by
 * test/swarm on the one-node swarm (where the task's container is read).
 */
export function statsSuite(): void {
  afterEach(async () => {
    await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
  });

  describe('GET /runtimes/{game_id}/stats on a real engine', () => {
    it("reads a running engine: plausible figures, its memory limit the container's, read just now; 409 once stopped, 404 without a record, 401 without the token", async () => {
      const w = await realWorld();
      worlds.push(w);
      const gameId = w.gameId('stats');
      expect(await startRuntime(w.deps, { gameId, imageRef: LABELLED, ...who })).toMatchObject({ outcome: 'success' });
      const { app, call } = testApp({ records: w.records, docker: w.engine });
      const path = `/api/v1/internal/runtimes/${gameId}/stats`;

      const asked = Date.now();
      const res = await call('GET', path);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, number | string>;
      expect(Object.keys(body).sort()).toEqual(['cpu_percent', 'memory_bytes', 'memory_limit_bytes', 'net_rx_bytes', 'net_tx_bytes', 'pids', 'read_at']);
      // The image's labels ask for 64m, and the container was given it.
      const container = await gameContainer(gameId, w.docker);
      expect(container.HostConfig.Memory).toBe(64 * 1024 * 1024);
      expect(body.memory_limit_bytes).toBe(container.HostConfig.Memory);
      expect(body.memory_bytes).toBeGreaterThan(0);
      expect(body.memory_bytes).toBeLessThan(body.memory_limit_bytes as number);
      expect(body.pids).toBeGreaterThanOrEqual(1);
      expect(body.pids).toBeLessThanOrEqual(64);
      // An idle httpd under half a CPU.
      expect(body.cpu_percent).toBeGreaterThanOrEqual(0);
      expect(body.cpu_percent).toBeLessThan(60);
      for (const n of [body.net_rx_bytes, body.net_tx_bytes]) expect(Number.isInteger(n) && (n as number) >= 0, String(n)).toBe(true);
      const readAt = Date.parse(body.read_at as string);
      expect(readAt).toBeGreaterThan(asked - 5_000);
      expect(readAt).toBeLessThan(Date.now() + 1_000);

      expect((await app.request(path)).status).toBe(401);
      expect((await call('GET', `/api/v1/internal/runtimes/${w.gameId('nobody')}/stats`)).status).toBe(404);
      expect(await stopRuntime(w.deps, { gameId, ...who })).toMatchObject({ outcome: 'success' });
      const stopped = await call('GET', path);
      expect(stopped.status).toBe(409);
      expect(await stopped.json()).toMatchObject({ error: { code: 'conflict' } });
    });
  });
}
