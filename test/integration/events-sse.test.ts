/**
 * Contract §16's live events over a real HTTP server on a real Redis: the SSE
 * framing, the game filter, a follower that receives what is published after
 * it connected, Last-Event-ID, the heartbeat, the follower ceiling, and a
 * client that goes away: its Redis connection and its slot are let go.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthEvent } from '../../src/domain/model.js';
import { followerGate } from '../../src/http/follower-gate.js';
import { listen } from '../../src/http/server.js';
import { createRedis } from '../../src/infra/redis/connection.js';
import { RedisHealthEvents } from '../../src/infra/redis/health-events.js';
import { RedisHealthEventsReader } from '../../src/infra/redis/health-events-reader.js';
import { createTelemetry } from '../../src/infra/telemetry.js';
import { testRedisUrl } from '../support/services.js';
import { SseReader } from '../support/sse.js';
import { TEST_TOKEN, testApp } from '../support/test-app.js';

const REDIS_URL = testRedisUrl();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const event = (gameId: string, over: Partial<HealthEvent> = {}): HealthEvent => ({
  gameId,
  containerId: `c-${gameId}`,
  eventType: 'container_started',
  occurredAt: new Date(1764072000123),
  details: { image_ref: 'galaxy/engine:1' },
  ...over,
});

async function harness(opts: { ceiling?: number; heartbeatMs?: number } = {}) {
  const run = randomUUID().slice(0, 8);
  const redis = new Redis(REDIS_URL);
  const stream = `test:${run}:health`;
  // Each follower's connection carries this name: CLIENT LIST tells how many are open.
  const followerName = `rtm-test-events-${run}`;
  const reader = new RedisHealthEventsReader({ redis, stream, openConnection: () => createRedis(REDIS_URL, 'blocking', { connectionName: followerName }) });
  const publisher = new RedisHealthEvents({ redis, stream, snapshots: { upsert: () => Promise.resolve() } });
  const gate = followerGate(opts.ceiling ?? 100);
  const telemetry = createTelemetry();
  const { app } = testApp({
    healthEventsReader: reader,
    followerGate: gate,
    countEventFollowers: (delta) => telemetry.recordEventFollowers(delta),
    ...(opts.heartbeatMs ? { eventHeartbeatMs: opts.heartbeatMs } : {}),
  });
  const server = await new Promise<ReturnType<typeof listen>>((resolve) => {
    const s = listen(app.fetch, { hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/internal/events`;
  const clients: AbortController[] = [];
  cleanups.push(async () => {
    for (const client of clients) client.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // fetch's pool may hold a connection it never sent a request on: it would hold the close for its keep-alive.
    (server as Server).closeAllConnections();
    await closed;
    await redis.del(stream);
    redis.disconnect();
  });
  /** A client of the events: its response, and how it goes away. */
  const get = async (query = '', headers: Record<string, string> = {}) => {
    const client = new AbortController();
    clients.push(client);
    const res = await fetch(`${base}${query}`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers }, signal: client.signal });
    return { res, sse: res.ok ? new SseReader(res.body) : null, leave: () => client.abort() };
  };
  const followerConnections = async () => ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${followerName} `)).length;
  const ids = async () => (await redis.xrange(stream, '-', '+')).map(([id]) => id);
  const followersGauge = async () => /^rtmanager_event_followers (\d+)$/m.exec(await telemetry.metricsText())?.[1];
  return { base, gate, get, ids, publish: (e: HealthEvent) => publisher.publish(e), followerConnections, followersGauge };
}

describe('GET /events on a real Redis', () => {
  it("sends the stream's events as SSE under their entry ids, filtered by game, and ends", async () => {
    const h = await harness();
    await h.publish(event('g-1'));
    await h.publish(event('g-2', { eventType: 'container_exited', details: { exit_code: 137, oom_killed: false } }));
    await h.publish(event('g-1', { containerId: '', eventType: 'container_disappeared', details: {} }));
    const ids = await h.ids();

    const all = await h.get();
    expect(all.res.status).toBe(200);
    expect(all.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(all.res.headers.get('cache-control')).toBe('no-cache');
    const frames = await all.sse!.rest();
    expect(frames.map((f) => f.id)).toEqual(ids);
    expect(JSON.parse(frames[1]!.data!)).toEqual({
      game_id: 'g-2',
      container_id: 'c-g-2',
      event_type: 'container_exited',
      occurred_at_ms: 1764072000123,
      details: { exit_code: 137, oom_killed: false },
    });

    const ofG1 = await (await h.get('?game_id=g-1')).sse!.rest();
    expect(ofG1.map((f) => f.id)).toEqual([ids[0], ids[2]]);
    expect(ofG1.map((f) => (JSON.parse(f.data!) as { event_type: string }).event_type)).toEqual(['container_started', 'container_disappeared']);
  });

  it('follows: receives an event published after it connected; a reconnect with Last-Event-ID resumes without repeats', async () => {
    const h = await harness();
    await h.publish(event('g-1'));
    const first = await h.get('?follow=true');
    const seen = [(await first.sse!.nextEvent())!.id!];
    await h.publish(event('g-2'));
    seen.push((await first.sse!.nextEvent())!.id!);
    expect(seen).toEqual(await h.ids());
    first.leave();

    // What was published while nobody followed, then what comes after the reconnect.
    await h.publish(event('g-3'));
    const again = await h.get('?follow=true', { 'last-event-id': seen.at(-1)! });
    seen.push((await again.sse!.nextEvent())!.id!);
    await h.publish(event('g-4'));
    seen.push((await again.sse!.nextEvent())!.id!);
    expect(seen).toEqual(await h.ids());
    expect(new Set(seen).size).toBe(4);
  });

  it('sends a heartbeat comment while a followed stream is quiet', async () => {
    const h = await harness({ heartbeatMs: 200 });
    const { sse } = await h.get('?follow=true');
    expect(await sse!.next(3_000)).toEqual({ comment: 'ping' });
    expect(await sse!.next(3_000)).toEqual({ comment: 'ping' });
  });

  it('a client that goes away lets go of its Redis connection and its slot, and is no longer counted', async () => {
    const h = await harness();
    const followers = [await h.get('?follow=true'), await h.get('?follow=true&game_id=g-1')];
    await expect.poll(h.followerConnections, { timeout: 5_000 }).toBe(2);
    expect(h.gate.active).toBe(2);
    expect(await h.followersGauge()).toBe('2');
    for (const f of followers) f.leave();
    await expect.poll(h.followerConnections, { timeout: 5_000 }).toBe(0);
    await expect.poll(() => h.gate.active, { timeout: 5_000 }).toBe(0);
    expect(await h.followersGauge()).toBe('0');
  });

  it('answers 503 service_unavailable beyond the follower ceiling, and takes a follower again once one has gone', async () => {
    const h = await harness({ ceiling: 2 });
    const first = await h.get('?follow=true');
    await h.get('?follow=true');
    const refused = await h.get('?follow=true');
    expect(refused.res.status).toBe(503);
    expect(await refused.res.json()).toMatchObject({ error: { code: 'service_unavailable' } });
    // One Redis connection per admitted follower, none for the refused one.
    await expect.poll(h.followerConnections, { timeout: 5_000 }).toBe(2);
    first.leave();
    await expect.poll(() => h.gate.active, { timeout: 5_000 }).toBe(1);
    expect((await h.get('?follow=true')).res.status).toBe(200);
  });

  it('401 without the token', async () => {
    const h = await harness();
    const res = await fetch(`${h.base}?follow=true`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect(h.gate.active).toBe(0);
  });
});
