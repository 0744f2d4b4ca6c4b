/**
 * Fuzzed stream entries on real Redis: whatever a producer XADDs to the start
 * stream, the intake never crashes, acknowledges every entry, enqueues only
 * entries that name a valid game id, an image and a known op source, and
 * records every other one as start_config_invalid through the domain —
 * without touching Docker or the state root.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { gameIdProblem } from '../../src/domain/game-id.js';
import { isOpSource } from '../../src/domain/model.js';
import { rejectStart } from '../../src/domain/start.js';
import type { StartRequest } from '../../src/jobs/intake.js';
import { startIntake } from '../../src/composition/intake.js';
import { INTAKE_GROUP } from '../../src/jobs/intake.js';
import { RecordingLogger } from '../fakes/support.js';
import { world } from '../fakes/world.js';
import { testRedisUrl } from '../support/services.js';

const admin = new Redis(testRedisUrl());
afterAll(() => admin.disconnect());

const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', ' ', '..', '../etc', 'a/b', 'a\\b', '0', '123', 'x'.repeat(60), 'lobby_stream', 'gm_rest', 'admin_rest', 'LOBBY_STREAM'),
  // Just past the bounds of contract §12: request id 256, image ref 4096.
  fc.constantFrom('r'.repeat(257), 'galaxy/' + 'e'.repeat(4090)),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$/),
  fc.constantFrom('galaxy/engine:1', 'registry.local:5000/e@sha256:' + 'a'.repeat(64)),
);
const field = fc.oneof(
  fc.constantFrom('game_id', 'image_ref', 'op_source', 'request_id'),
  fc.string({ maxLength: 12 }).filter((s) => s !== ''),
);
/** An entry as its producer wrote it: field/value pairs, repeats and strangers allowed. */
const entry = fc.array(fc.tuple(field, hostile), { minLength: 1, maxLength: 6 });

/** What the intake must conclude from an entry: Redis keeps every pair; the last of a repeated field wins. */
function expectedValid(pairs: Array<[string, string]>): boolean {
  const map = new Map(pairs);
  const gameId = map.get('game_id');
  const imageRef = map.get('image_ref');
  const source = map.get('op_source') ?? 'lobby_stream';
  const requestId = map.get('request_id') ?? '';
  return (
    gameId !== undefined &&
    gameIdProblem(gameId) === null &&
    imageRef !== undefined &&
    imageRef.trim() !== '' &&
    imageRef.trim().length <= 4096 &&
    requestId.length <= 256 &&
    isOpSource(source)
  );
}

describe('stream intake under arbitrary entries', () => {
  it('acknowledges every entry; enqueues exactly the valid ones; records the rest as start_config_invalid', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
        const stream = `test:intake-fuzz:${randomUUID()}`;
        const w = world();
        const enqueued: StartRequest[] = [];
        const blocking = new Redis(testRedisUrl());
        const commands = new Redis(testRedisUrl());
        const intake = startIntake({
          blocking,
          commands,
          stream,
          claimIdleMs: 60_000,
          blockMs: 50,
          enqueue: (request) => {
            enqueued.push(request);
            return Promise.resolve({ kind: 'enqueued', jobId: request.gameId });
          },
          // As the composition root wires it: the domain records the refusal.
          reject: async (request, code, message) => {
            await rejectStart(w.deps, request, { code, message });
          },
          telemetry: w.telemetry,
          logger: new RecordingLogger(),
        });
        try {
          await intake.ready;
          const ids: string[] = [];
          for (const pairs of entries) ids.push((await admin.xadd(stream, '*', ...pairs.flat())) as string);

          const deadline = Date.now() + 10_000;
          while (enqueued.length + w.operations.entries.length < entries.length) {
            if (Date.now() > deadline) throw new Error(`handled ${enqueued.length + w.operations.entries.length} of ${entries.length}`);
            await new Promise((r) => setTimeout(r, 10));
          }
          const [pendingCount] = (await admin.xpending(stream, INTAKE_GROUP)) as [number];
          expect(pendingCount).toBe(0);

          const validIds = ids.filter((_, i) => expectedValid(entries[i]!));
          expect(enqueued.map((r) => r.sourceRef)).toEqual(validIds);
          for (const request of enqueued) {
            expect(gameIdProblem(request.gameId)).toBeNull();
            expect(request.imageRef.trim()).not.toBe('');
            expect(isOpSource(request.opSource)).toBe(true);
          }
          const refused = w.operations.entries;
          expect(refused.map((e) => e.sourceRef)).toEqual(ids.filter((id) => !validIds.includes(id)));
          for (const e of refused) {
            expect(e).toMatchObject({ outcome: 'failure', errorCode: 'start_config_invalid' });
            // Whatever the entry named, only one of ours reaches the table and the metric label.
            expect(isOpSource(e.opSource)).toBe(true);
          }
          expect(w.docker.calls).toEqual([]);
          expect(w.stateDirs.prepared).toEqual([]);
        } finally {
          await intake.stop();
          blocking.disconnect();
          commands.disconnect();
          await admin.del(stream);
        }
      }),
      { numRuns: 60 },
    );
  });
});
