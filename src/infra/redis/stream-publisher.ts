import type { Redis } from 'ioredis';

/**
 * Bounds a produced stream's memory should its consumers stop reading
 * (`~`: trimmed cheaply, by whole nodes). The soak (bench/soak.ts) reads it:
 * these streams grow with operations up to here, by design.
 */
export const PRODUCED_STREAM_MAXLEN = 100_000;

/** XADD of one entry, fields in the order given, to a stream we produce (contract §6). */
export async function publishToStream(redis: Redis, stream: string, fields: ReadonlyArray<readonly [string, string]>): Promise<void> {
  await redis.xadd(stream, 'MAXLEN', '~', PRODUCED_STREAM_MAXLEN, '*', ...fields.flat());
}
