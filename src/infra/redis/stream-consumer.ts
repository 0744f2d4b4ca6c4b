/**
 * A Redis stream read in a consumer group, at least once: each entry is
 * handed to `handle` and acknowledged only once it returns, so an entry whose
 * handling threw (or whose consumer died) stays pending, and a later claim
 * (XAUTOCLAIM, of entries idle for `claimIdleMs`) hands it out again.
 */
import type { Redis } from 'ioredis';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../domain/ports.js';

export interface StreamConsumerDeps {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  blocking: Redis;
  /** For XACK / XAUTOCLAIM / XGROUP, which must not wait behind the block. */
  commands: Redis;
  stream: string;
  group: string;
  consumer: string;
  claimIdleMs: number;
  blockMs: number;
  batch: number;
  log: Logger;
  /** Resolves once the entry may be acknowledged; throws to leave it pending. */
  handle(id: string, fields: string[]): Promise<void>;
}

type StreamEntry = [id: string, fields: string[]];

export class RedisStreamConsumer {
  /** Resolves after the consumer group exists: the consumer is listening. */
  readonly ready: Promise<void>;
  private stopping = false;
  private looping = false;
  private lastClaimAt = 0;
  private readonly loop: Promise<void>;

  constructor(private readonly deps: StreamConsumerDeps) {
    this.ready = ensureGroup(deps.commands, deps.stream, deps.group);
    this.loop = this.run().finally(() => {
      this.looping = false;
    });
  }

  /** True from `ready` until its loop ends (stopped, or the group could not be made). */
  listening(): boolean {
    return this.looping && !this.stopping;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Unblock XREADGROUP at once rather than waiting out its BLOCK.
    this.deps.blocking.disconnect();
    await this.loop.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { deps } = this;
    await this.ready;
    deps.log.info({}, 'intake listening');
    this.looping = true;
    while (!this.stopping) {
      try {
        if (Date.now() - this.lastClaimAt >= deps.claimIdleMs / 2) {
          this.lastClaimAt = Date.now();
          await this.claimAbandoned();
        }
        const reply = (await deps.blocking.xreadgroup(
          'GROUP',
          deps.group,
          deps.consumer,
          'COUNT',
          deps.batch,
          'BLOCK',
          deps.blockMs,
          'STREAMS',
          deps.stream,
          '>',
        )) as Array<[string, StreamEntry[]]> | null;
        for (const [, entries] of reply ?? []) await this.handleAll(entries);
      } catch (error) {
        if (this.stopping) break;
        deps.log.error({ err: errorMessage(error) }, 'intake read failed; retrying');
        await sleep(1_000);
      }
    }
  }

  /** Entries a dead consumer read but never acknowledged (ours after a crash too). */
  private async claimAbandoned(): Promise<void> {
    const { deps } = this;
    let cursor = '0-0';
    do {
      // Redis 7: [next cursor, entries, deleted ids].
      const reply = (await deps.commands.xautoclaim(deps.stream, deps.group, deps.consumer, deps.claimIdleMs, cursor, 'COUNT', deps.batch)) as [
        string,
        StreamEntry[],
        string[]?,
      ];
      cursor = reply[0];
      const entries = reply[1].filter((entry): entry is StreamEntry => Array.isArray(entry) && Array.isArray(entry[1]));
      if (entries.length > 0) deps.log.info({ claimed: entries.length }, 'claimed abandoned entries');
      await this.handleAll(entries);
    } while (cursor !== '0-0' && !this.stopping);
  }

  private async handleAll(entries: StreamEntry[]): Promise<void> {
    for (const [id, fields] of entries) {
      // One entry failing (queue unreachable, refusal not recorded) leaves it
      // pending for a later claim; the others still go through.
      try {
        await this.deps.handle(id, fields);
        await this.deps.commands.xack(this.deps.stream, this.deps.group, id);
      } catch (error) {
        this.deps.log.error({ entry_id: id, err: errorMessage(error) }, 'entry not enqueued or recorded; left pending');
      }
    }
  }
}

async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    // From 0: entries the lobby wrote before the group existed are still ours to run.
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
