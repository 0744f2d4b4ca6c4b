/** The live events feed (src/domain/event-feed.ts) on the in-memory stream: pages, the game filter, following, the end. */
import { describe, expect, it } from 'vitest';
import type { HealthEventEntry } from '../../src/domain/ports.js';
import { healthEventFeed } from '../../src/domain/event-feed.js';
import { InMemoryHealthEventStream } from '../fakes/in-memory-health-event-stream.js';

const event = (gameId: string) => ({ gameId, containerId: 'c', eventType: 'container_started' as const, occurredAt: new Date(0), details: {} });

async function take(feed: AsyncGenerator<HealthEventEntry>, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of feed) {
    out.push(entry.event.gameId);
    if (out.length === n) break;
  }
  return out;
}

describe('healthEventFeed', () => {
  it('reads what is there page by page, oldest first, only the game asked for, then ends unless following', async () => {
    const stream = new InMemoryHealthEventStream();
    for (const id of ['a', 'b', 'a', 'a', 'b', 'a', 'a']) await stream.publish(event(id));
    const signal = new AbortController().signal;
    const all = await take(healthEventFeed(stream, { afterId: '0-0', follow: false, signal, pageSize: 2 }), 100);
    expect(all).toEqual(['a', 'b', 'a', 'a', 'b', 'a', 'a']);
    const onlyB = [];
    for await (const e of healthEventFeed(stream, { afterId: '0-0', gameId: 'b', follow: false, signal, pageSize: 2 })) onlyB.push(e.id);
    expect(onlyB).toEqual([stream.entries[1]!.id, stream.entries[4]!.id]);
    expect(stream.openFollowers).toBe(0);
  });

  it("following, another game's events move it on without being sent, and an abort ends a wait under way and closes the follower", async () => {
    const stream = new InMemoryHealthEventStream();
    const ended = new AbortController();
    const feed = healthEventFeed(stream, { afterId: '0-0', gameId: 'b', follow: true, signal: ended.signal, waitMs: 60_000 });
    const first = feed.next();
    await new Promise((r) => setTimeout(r, 20));
    await stream.publish(event('a'));
    await stream.publish(event('b'));
    expect((await first).value).toMatchObject({ id: stream.entries[1]!.id });
    const second = feed.next();
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.openFollowers).toBe(1);
    ended.abort();
    expect(await second).toEqual({ done: true, value: undefined });
    expect(stream.openFollowers).toBe(0);
  });
});
