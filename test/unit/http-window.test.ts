/**
 * Contract §16's stats and live events through the app (`app.request`, no
 * server), on the fakes: every answer of the stats route, and the SSE feed's
 * framing, filter, resumption, following, heartbeat, ceiling and release.
 */
import { describe, expect, it } from 'vitest';
import type { HealthEvent } from '../../src/domain/model.js';
import { startRuntime } from '../../src/domain/start.js';
import { stopRuntime } from '../../src/domain/stop.js';
import { followerGate } from '../../src/http/follower-gate.js';
import { InMemoryHealthEventStream } from '../fakes/in-memory-health-event-stream.js';
import { IMAGE, world } from '../fakes/world.js';
import { SseReader } from '../support/sse.js';
import type { TestAppOptions } from '../support/test-app.js';
import { testApp } from '../support/test-app.js';

const who = { opSource: 'admin_rest' as const, sourceRef: 'it' };

describe('GET /runtimes/{game_id}/stats', () => {
  async function running() {
    const w = world();
    const started = await startRuntime(w.deps, { gameId: 'g-1', imageRef: IMAGE, ...who });
    const app = testApp({ records: w.records, docker: w.docker });
    return { w, app, containerId: started.record!.currentContainerId! };
  }

  it("answers one reading of the game's engine in the contract's fields", async () => {
    const { w, app } = await running();
    w.docker.usage.set(IMAGE, { cpuPercent: 12.5, memoryBytes: 5_000_000, pids: 3, netRxBytes: 10, netTxBytes: 20 });
    // The fake clock ticks a millisecond a reading: the reading is the next one.
    const readAt = new Date(w.clock.now().getTime() + 1).toISOString();
    const res = await app.call('GET', '/api/v1/internal/runtimes/g-1/stats');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      cpu_percent: 12.5,
      memory_bytes: 5_000_000,
      memory_limit_bytes: 1024 ** 3,
      pids: 3,
      net_rx_bytes: 10,
      net_tx_bytes: 20,
      read_at: readAt,
    });
  });

  it('404 without a record, 409 conflict once stopped and when the engine is gone before the record knows, 400 a bad game id', async () => {
    const { w, app, containerId } = await running();
    expect((await app.call('GET', '/api/v1/internal/runtimes/g-none/stats')).status).toBe(404);
    expect((await app.call('GET', '/api/v1/internal/runtimes/bad.id/stats')).status).toBe(400);
    w.docker.containers.delete(containerId);
    const gone = await app.call('GET', '/api/v1/internal/runtimes/g-1/stats');
    expect(gone.status).toBe(409);
    expect(await gone.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('not running') } });
    await stopRuntime(w.deps, { gameId: 'g-1', ...who });
    const stopped = await app.call('GET', '/api/v1/internal/runtimes/g-1/stats');
    expect(stopped.status).toBe(409);
    expect(await stopped.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('stopped') } });
  });

  it('401 without the token; 503 when the daemon fails', async () => {
    const { w, app } = await running();
    expect((await app.app.request('/api/v1/internal/runtimes/g-1/stats')).status).toBe(401);
    w.docker.failStats = new Error('connect ENOENT /var/run/docker.sock');
    const res = await app.call('GET', '/api/v1/internal/runtimes/g-1/stats');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'service_unavailable', message: expect.stringContaining('ENOENT') } });
  });
});

const event = (gameId: string, eventType: HealthEvent['eventType'] = 'container_started'): HealthEvent => ({
  gameId,
  containerId: `c-${gameId}`,
  eventType,
  occurredAt: new Date(1764072000123),
  details: { exit_code: 0 },
});

function eventsApp(over: TestAppOptions = {}) {
  const stream = new InMemoryHealthEventStream();
  const followers: number[] = [];
  const gate = followerGate(2);
  const app = testApp({ healthEventsReader: stream, followerGate: gate, countEventFollowers: (d) => followers.push(d), ...over });
  const get = (query = '', headers: Record<string, string> = {}) => app.call('GET', `/api/v1/internal/events${query}`, undefined, headers);
  return { stream, gate, followers, app, get };
}

describe('GET /events', () => {
  it('sends the stream as SSE, each event under its entry id with the entry as JSON, then ends', async () => {
    const s = eventsApp();
    await s.stream.publish(event('g-1'));
    await s.stream.publish(event('g-2', 'container_exited'));
    const res = await s.get();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = await new SseReader(res.body).rest();
    expect(frames).toEqual(
      s.stream.entries.map((e) => ({
        id: e.id,
        data: JSON.stringify({
          game_id: e.event.gameId,
          container_id: e.event.containerId,
          event_type: e.event.eventType,
          occurred_at_ms: 1764072000123,
          details: { exit_code: 0 },
        }),
      })),
    );
    // Not followed: no slot was taken, no follower counted.
    expect(s.gate.active).toBe(0);
    expect(s.followers).toEqual([]);
  });

  it('filters by game, and resumes after Last-Event-ID without repeating what was sent', async () => {
    const s = eventsApp();
    for (const id of ['g-1', 'g-2', 'g-1', 'g-2']) await s.stream.publish(event(id));
    const ofG2 = await new SseReader((await s.get('?game_id=g-2')).body).rest();
    expect(ofG2.map((f) => (JSON.parse(f.data!) as { game_id: string }).game_id)).toEqual(['g-2', 'g-2']);
    expect(ofG2.map((f) => f.id)).toEqual([s.stream.entries[1]!.id, s.stream.entries[3]!.id]);
    const resumed = await new SseReader((await s.get('', { 'last-event-id': s.stream.entries[1]!.id })).body).rest();
    expect(resumed.map((f) => f.id)).toEqual(s.stream.entries.slice(2).map((e) => e.id));
  });

  it('follows: what is there, then what is published after, with a heartbeat comment while quiet; a client that goes frees its slot and its follower', async () => {
    const s = eventsApp({ eventHeartbeatMs: 50 });
    await s.stream.publish(event('g-1'));
    const sse = new SseReader((await s.get('?follow=true')).body);
    expect((await sse.nextEvent())?.id).toBe(s.stream.entries[0]!.id);
    expect(await sse.next()).toEqual({ comment: 'ping' });
    await s.stream.publish(event('g-3'));
    expect(JSON.parse((await sse.nextEvent())!.data!)).toMatchObject({ game_id: 'g-3' });
    expect(s.gate.active).toBe(1);
    expect(s.stream.openFollowers).toBe(1);
    expect(s.followers).toEqual([1]);
    await sse.cancel();
    await expect.poll(() => [s.gate.active, s.stream.openFollowers]).toEqual([0, 0]);
    expect(s.followers).toEqual([1, -1]);
  });

  it('503 service_unavailable beyond the follower ceiling, before streaming anything; a freed slot is taken again', async () => {
    const s = eventsApp();
    const first = new SseReader((await s.get('?follow=true')).body);
    const second = new SseReader((await s.get('?follow=true')).body);
    const refused = await s.get('?follow=true');
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'service_unavailable', message: expect.stringContaining('ceiling') } });
    // Reading what is there takes no slot.
    expect((await s.get()).status).toBe(200);
    await first.cancel();
    await expect.poll(() => s.gate.active).toBe(1);
    const third = await s.get('?follow=true');
    expect(third.status).toBe(200);
    await new SseReader(third.body).cancel();
    await second.cancel();
    await expect.poll(() => s.gate.active).toBe(0);
  });

  it('ends followed streams when the process closes', async () => {
    const closing = new AbortController();
    const s = eventsApp({ closing: closing.signal });
    const sse = new SseReader((await s.get('?follow=true')).body);
    await expect.poll(() => s.stream.openFollowers).toBe(1);
    closing.abort();
    expect(await sse.rest()).toEqual([]);
    expect([s.gate.active, s.stream.openFollowers]).toEqual([0, 0]);
  });

  it('a stream that fails once begun says so in an error event, then ends', async () => {
    const s = eventsApp();
    s.stream.failRead = new Error('Connection is closed.');
    const frames = await new SseReader((await s.get()).body).rest();
    expect(frames).toEqual([{ event: 'error', data: JSON.stringify({ error: { code: 'service_unavailable', message: 'Connection is closed.' } }) }]);
  });

  it('400 for a bad game id, follow or Last-Event-ID; 401 without the token', async () => {
    const s = eventsApp();
    expect((await s.get('?game_id=bad.id')).status).toBe(400);
    expect((await s.get('?follow=yes')).status).toBe(400);
    const badId = await s.get('', { 'last-event-id': 'abc' });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ error: { code: 'start_config_invalid', message: expect.stringContaining('Last-Event-ID') } });
    expect((await s.app.app.request('/api/v1/internal/events')).status).toBe(401);
    expect(s.gate.active).toBe(0);
  });
});
