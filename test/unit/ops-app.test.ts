import { describe, expect, it } from 'vitest';
import { createOpsApp } from '../../src/http/ops-app.js';
import { RecordingLogger } from '../fakes/support.js';

/** The ops app of a worker, with a workers check the test turns off. */
function opsApp() {
  const state = { workersRunning: true, docker: 'answers' as 'answers' | 'hangs' };
  const app = createOpsApp({
    readiness: {
      redis: () => Promise.resolve(),
      workers: () => (state.workersRunning ? Promise.resolve() : Promise.reject(new Error('BullMQ workers not running: start-runtime'))),
      docker: () => (state.docker === 'answers' ? Promise.resolve() : new Promise(() => undefined)),
    },
    metricsText: () => Promise.resolve('rtmanager_ready{check="redis"} 1\n'),
    logger: new RecordingLogger(),
  });
  return { app, state };
}

describe('the ops app of a worker or intake process', () => {
  it('answers /readyz with every check of the process, 503 naming each one that fails', async () => {
    const { app, state } = opsApp();
    state.workersRunning = false;
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not_ready',
      checks: { redis: 'ok', workers: 'BullMQ workers not running: start-runtime', docker: 'ok' },
      error: { code: 'service_unavailable', message: 'workers not ready: BullMQ workers not running: start-runtime' },
    });
    state.docker = 'hangs';
    expect(await (await app.request('/readyz')).json()).toMatchObject({
      checks: { redis: 'ok', docker: 'no answer within 2000 ms' },
      error: { message: 'workers, docker not ready: BullMQ workers not running: start-runtime; no answer within 2000 ms' },
    });
    state.workersRunning = true;
    state.docker = 'answers';
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('is ready when every check passes', async () => {
    const res = await opsApp().app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { redis: 'ok', workers: 'ok', docker: 'ok' } });
  });

  it('serves /healthz and /metrics, and nothing of the API', async () => {
    const { app } = opsApp();
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
    const metrics = await app.request('/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await metrics.text()).toBe('rtmanager_ready{check="redis"} 1\n');
    for (const path of ['/openapi.json', '/docs', '/api/v1/internal/runtimes', '/admin/queues']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });
});
