/**
 * The Procfile roles as separate processes (web, worker, intake) on real
 * Redis, Postgres and Docker, driven from outside as a platform service would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSystem } from '../faults/support.js';
import { docker, faultSystem, until } from '../faults/support.js';

const IMAGE = 'galaxy-test-engine:labelled';
let s: FaultSystem;

beforeAll(async () => {
  s = await faultSystem();
  s.start('web');
  s.start('worker');
  s.start('intake');
  await s.waitReady();
}, 90_000);

afterAll(async () => {
  await s.cleanup();
});

const get = (path: string) => fetch(`${s.base}/api/v1/internal${path}`, { headers: { authorization: `Bearer ${s.token}` } });

describe('the Procfile processes', () => {
  it('POST start → 202, poll until the record is running, and the engine answers HTTP', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('post');
    const res = await s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ job_id: gameId, game_id: gameId, poll_url: `/api/v1/internal/runtimes/${gameId}/start` });
    const poll = await until(async () => (await get(`/runtimes/${gameId}/start`)).json() as Promise<{ state: string }>, (p) => p.state === 'completed', 30_000, 'job completed');
    expect(poll).toMatchObject({ state: 'completed', result: { outcome: 'success', record: { status: 'running' } } });
    const record = (await (await get(`/runtimes/${gameId}`)).json()) as { status: string; current_container_id: string };
    expect(record.status).toBe('running');
    const info = await docker.getContainer(record.current_container_id).inspect();
    const ip = info.NetworkSettings.Networks[s.networkName]?.IPAddress;
    expect((await fetch(`http://${ip}:8080/`)).status).toBe(200);
  });

  it('an XADD to the start stream produces a running container', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('xadd');
    await s.redis.xadd(`${s.run}:start_jobs`, '*', 'game_id', gameId, 'image_ref', IMAGE, 'request_id', 'lobby-1');
    const record = await until(() => s.records.get(gameId), (r) => r?.status === 'running', 30_000, 'record running');
    const [audit] = await s.operations.listByGame(gameId, 1, 'start');
    expect(audit).toMatchObject({ opSource: 'lobby_stream', outcome: 'success', containerId: record!.currentContainerId });
    expect((await s.containersOf(gameId)).map((c) => c.State)).toEqual(['running']);
  });

  it('20 concurrent requests for one game: one job, one container', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('twenty');
    const answers = await Promise.all(Array.from({ length: 20 }, () => s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE }).then(async (r) => ({ status: r.status, body: (await r.json()) as { job_id: string } }))));
    // A request that lands after the job finished is a new job that replays: still 202 and the same id.
    expect(answers.every((a) => a.status === 202 && a.body.job_id === gameId)).toBe(true);
    await until(() => s.records.get(gameId), (r) => r?.status === 'running', 30_000, 'record running');
    await until(async () => (await (await get(`/runtimes/${gameId}/start`)).json()) as { state: string }, (p) => p.state === 'completed', 30_000, 'settled');
    expect(await s.containersOf(gameId)).toHaveLength(1);
    const starts = (await s.operations.listByGame(gameId, 50, 'start')).filter((e) => e.outcome === 'success' && e.errorCode === '');
    expect(starts).toHaveLength(1);
  });

  it('refuses a call without the token', async () => {
    const res = await fetch(`${s.base}/api/v1/internal/runtimes/${s.gameId('x')}/start`, { method: 'POST', body: JSON.stringify({ image_ref: IMAGE }) });
    expect(res.status).toBe(401);
  });
});
