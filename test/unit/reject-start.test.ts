/**
 * rejectStart: a start refused before it became a job (the stream intake's
 * refusals) must leave its audit row (contract §14). When the row cannot be
 * written it throws, so the intake keeps the entry pending, and tells nothing
 * else (notification, counter) until a retry writes the row: one row, one
 * notification, one count per refused entry however many retries it took.
 */
import { describe, expect, it } from 'vitest';
import { AuditRowNotWritten } from '../../src/domain/outcomes.js';
import type { StartInput } from '../../src/domain/start.js';
import { rejectStart } from '../../src/domain/start.js';
import { failure } from '../fakes/results.js';
import { IMAGE, world } from '../fakes/world.js';

const entry: StartInput = { gameId: '../etc', imageRef: IMAGE, opSource: 'lobby_stream', sourceRef: '1700000000000-0' };
const INVALID = { code: 'start_config_invalid', message: 'game_id: must match' } as const;

describe('rejectStart', () => {
  it('records a start_config_invalid refusal: its row, one notification, one count', async () => {
    const w = world();
    expect(await rejectStart(w.deps, entry, INVALID)).toEqual(failure('start_config_invalid', 'game_id: must match', false));
    expect(w.operations.entries).toMatchObject([
      { gameId: '../etc', sourceRef: entry.sourceRef, outcome: 'failure', errorCode: 'start_config_invalid', errorMessage: 'game_id: must match' },
    ]);
    expect(w.notifications.published.map((n) => n.notificationType)).toEqual(['runtime.start_config_invalid']);
    expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'failure', errorCode: 'start_config_invalid', opSource: 'lobby_stream' }]);
  });

  it.each([INVALID, { code: 'conflict', message: 'a start with image_ref "x:0" is already pending for this game' } as const])(
    'throws AuditRowNotWritten while the row cannot be written ($code), notifying and counting nothing; a retry then records it once',
    async (refusal) => {
      const w = world();
      w.operations.failAppend = new Error('connect ECONNREFUSED 127.0.0.1:5432');
      for (let attempt = 0; attempt < 3; attempt++) {
        const thrown = await rejectStart(w.deps, entry, refusal).then(
          () => null,
          (error: unknown) => error,
        );
        expect(thrown).toBeInstanceOf(AuditRowNotWritten);
        expect((thrown as Error).message).toBe(`the ${refusal.code} refusal of start ../etc has no audit row yet: connect ECONNREFUSED 127.0.0.1:5432`);
      }
      expect(w.notifications.published).toEqual([]);
      expect(w.telemetry.startOutcomes).toEqual([]);
      expect(w.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);

      w.operations.failAppend = null;
      expect(await rejectStart(w.deps, entry, refusal)).toEqual(failure(refusal.code, refusal.message, false));
      expect(w.operations.entries.map((e) => [e.sourceRef, e.errorCode])).toEqual([[entry.sourceRef, refusal.code]]);
      expect(w.notifications.published).toHaveLength(refusal.code === 'start_config_invalid' ? 1 : 0);
      expect(w.telemetry.startOutcomes).toEqual([{ outcome: 'failure', errorCode: refusal.code, opSource: 'lobby_stream' }]);
    },
  );
});
