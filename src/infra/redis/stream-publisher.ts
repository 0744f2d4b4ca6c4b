import type { Redis } from 'ioredis';

/**
 * Bounds a produced stream's memory should its consumers stop reading
 * (`~`: trimmed cheaply, by whole nodes).
 */
const MAXLEN = 100_000;

/** XADD of one entry, fields in the order given, to a stream we produce (contract §6). */
export async function publishToStream(redis: Redis, stream: string, fields: ReadonlyArray<readonly [string, string]>): Promise<void> {
  await redis.xadd(stream, 'MAXLEN', '~', MAXLEN, '*', ...fields.flat());
}
