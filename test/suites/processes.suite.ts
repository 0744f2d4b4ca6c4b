/**
 * The Procfile roles as separate processes (web, worker, intake) on real
 * Redis, Postgres and Docker (one engine, or a swarm: the test backend),
 * driven from outside as a platform service would.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FaultSystem } from '../faults/support.js';
import { docker, faultSystem } from '../faults/support.js';
import { currentGameContainers, expectNoContainers, gameContainer, gameContainerName, gameServices, probeHttp, testBackend } from '../support/backend.js';
import { JOINED_NOTE } from '../../src/domain/request-ends.js';

const IMAGE = 'galaxy-test-engine:labelled';
const OTHER = 'galaxy-test-engine:labelled-v2';
let s: FaultSystem;

async function startProcesses(): Promise<void> {
  s = await faultSystem();
  s.start('web');
  s.start('worker');
  s.start('intake');
  await s.waitReady();
}

async function stopProcesses(): Promise<void> {
  await s.cleanup();
}

const get = (path: string) => fetch(`${s.base}/api/v1/internal${path}`, { headers: { authorization: `Bearer ${s.token}` } });
const SLOW = { timeout: 30_000, interval: 100 };

/** The start job's poll, once it says completed. */
const startCompleted = (gameId: string) =>
  vi.waitFor(async () => {
    const poll = (await (await get(`/runtimes/${gameId}/start`)).json()) as { state: string };
    expect(poll.state).toBe('completed');
    return poll;
  }, SLOW);

/** The game's record, once it says running. */
const recordRunning = (gameId: string) =>
  vi.waitFor(async () => {
    const record = await s.records.get(gameId);
    expect(record?.status).toBe('running');
    return record!;
  }, SLOW);

/** Run by test/e2e on one engine and by test/swarm on the one-node swarm. */
export function processesSuite(): void {
  beforeAll(startProcesses, 90_000);
  afterAll(stopProcesses);
  describe('the Procfile processes', procfileProcesses);
}

function procfileProcesses(): void {
  it('POST start → 202, poll until the record is running, and the engine answers HTTP', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('post');
    const res = await s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ job_id: gameId, game_id: gameId, poll_url: `/api/v1/internal/runtimes/${gameId}/start` });
    const poll = await startCompleted(gameId);
    expect(poll).toMatchObject({ state: 'completed', result: { outcome: 'success', record: { status: 'running' } } });
    const record = (await (await get(`/runtimes/${gameId}`)).json()) as Record<string, unknown> & { status: string; current_container_id: string };
    expect(record.status).toBe('running');
    const info = await docker.getContainer(record.current_container_id).inspect();
    // On a swarm, the container of the service's running task, under the task's name.
    expect((await gameContainer(gameId, docker)).Id).toBe(info.Id);
    expect(info.Name).toMatch(gameContainerName(gameId));
    expect(await probeHttp(s.networkName, info, 8080, docker)).toBe(200);
    // Contract §11: what the container got, as Docker reports it; a local image's digest is its id.
    expect(record).toMatchObject({
      current_image_digest: info.Image,
      effective_cpu_quota: info.HostConfig.NanoCpus! / 1e9,
      effective_memory_bytes: info.HostConfig.Memory,
      effective_pids_limit: info.HostConfig.PidsLimit,
    });
    expect([record.effective_cpu_quota, record.effective_memory_bytes, record.effective_pids_limit]).toEqual([0.5, 64 * 1024 * 1024, 64]);
    const { operations } = (await (await get(`/runtimes/${gameId}/operations`)).json()) as { operations: Array<Record<string, unknown>> };
    expect(operations).toEqual([expect.objectContaining({ op_kind: 'start', outcome: 'success', image_digest: info.Image })]);
    const openapi = (await (await fetch(`${s.base}/openapi.json`)).json()) as { components: { schemas: Record<string, { properties: object }> } };
    expect(Object.keys(openapi.components.schemas.RuntimeRecord!.properties)).toEqual(
      expect.arrayContaining(['current_image_digest', 'effective_cpu_quota', 'effective_memory_bytes', 'effective_pids_limit']),
    );
    expect(Object.keys(openapi.components.schemas.Operation!.properties)).toContain('image_digest');
  });

  it('an XADD to the start stream produces a running container', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('xadd');
    await s.redis.xadd(`${s.run}:start_jobs`, '*', 'game_id', gameId, 'image_ref', IMAGE, 'request_id', 'lobby-1');
    const record = await recordRunning(gameId);
    const [audit] = await s.operations.listByGame(gameId, 1, 'start');
    expect(audit).toMatchObject({ opSource: 'lobby_stream', outcome: 'success', containerId: record.currentContainerId });
    expect((await s.containersOf(gameId)).map((c) => c.State)).toEqual(['running']);
  });

  it('20 concurrent requests for one game: one job, one container', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('twenty');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE }).then(async (r) => ({ status: r.status, body: (await r.json()) as { job_id: string } })),
      ),
    );
    // A request that lands after the job finished is a new job that replays: still 202 and the same id.
    expect(answers.every((a) => a.status === 202 && a.body.job_id === gameId)).toBe(true);
    await recordRunning(gameId);
    await startCompleted(gameId);
    expect(await s.containersOf(gameId)).toHaveLength(1);
    const rows = await s.operations.listByGame(gameId, 50, 'start');
    // One start ran; every other request joined it (a row of its own saying so) or, landing after it, replayed.
    const ran = rows.filter((e) => e.outcome === 'success' && e.errorCode === '' && !e.errorMessage.startsWith(JOINED_NOTE));
    expect(ran).toHaveLength(1);
    // Contract §14: one terminal row per accepted request.
    expect(rows.filter((e) => e.outcome === 'success')).toHaveLength(20);
  });

  it('a start with another image while one is pending is answered 409; the pending one runs', { timeout: 60_000 }, async () => {
    const gameId = s.gameId('two-images');
    // Back to back: a start takes hundreds of milliseconds, so the second finds the first pending.
    const first = await s.post(`/runtimes/${gameId}/start`, { image_ref: IMAGE });
    const second = await s.post(`/runtimes/${gameId}/start`, { image_ref: OTHER });
    expect(first.status).toBe(202);
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: { code: 'conflict' } });
    const record = await recordRunning(gameId);
    expect(record.currentImageRef).toBe(IMAGE);
  });

  it('stop, restart and patch through the API, each waited for', { timeout: 120_000 }, async () => {
    const gameId = s.gameId('lifecycle');
    const call = async (kind: string, body?: unknown) => {
      const res = await s.post(`/runtimes/${gameId}/${kind}?wait=45`, body);
      const json = (await res.json()) as {
        result?: {
          outcome: string;
          record: { status: string; current_image_ref: string; current_container_id: string; current_image_digest: string | null } | null;
        };
      };
      expect(res.status, `${kind}: ${JSON.stringify(json)}`).toBe(200);
      expect(json.result?.outcome, kind).toBe('success');
      return json.result!.record!;
    };
    const started = await call('start', { image_ref: IMAGE });
    // A stop keeps the digest of the image the game ran; the limits went with the container.
    expect(await call('stop')).toMatchObject({
      status: 'stopped',
      current_image_digest: started.current_image_digest,
      effective_cpu_quota: null,
      effective_memory_bytes: null,
      effective_pids_limit: null,
    });
    // On a swarm the service goes at once, its task's container with the task.
    expect(await gameServices(gameId, docker)).toEqual([]);
    await expectNoContainers(() => s.containersOf(gameId));
    const restarted = await call('restart');
    expect(restarted).toMatchObject({ status: 'running', current_image_ref: IMAGE });
    expect(restarted.current_container_id).not.toBe(started.current_container_id);
    const patched = await call('patch', { image_ref: OTHER });
    expect(patched).toMatchObject({ status: 'running', current_image_ref: OTHER });
    const named = (await s.containersOf(gameId)).filter((c) => gameContainerName(gameId).test(c.Names[0] ?? ''));
    const containers = await currentGameContainers(named, gameId, docker);
    expect(containers.map((c) => [c.Id, c.Image, c.State])).toEqual([[patched.current_container_id, OTHER, 'running']]);
    if (testBackend() === 'swarm') expect(containers[0]?.Labels['com.docker.swarm.service.name']).toBe(`galaxy-game-${gameId}`);
  });

  it('refuses a call without the token', async () => {
    const res = await fetch(`${s.base}/api/v1/internal/runtimes/${s.gameId('x')}/start`, { method: 'POST', body: JSON.stringify({ image_ref: IMAGE }) });
    expect(res.status).toBe(401);
  });
}
