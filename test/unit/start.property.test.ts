import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GAME_ID_PATTERN } from '../../src/domain/game-id.js';
import { parseImageRef } from '../../src/domain/image-ref.js';
import { startRuntime } from '../../src/domain/start.js';
import { IMAGE, world } from '../fakes/world.js';

/** Strings that look like what an attacker or a buggy producer would send. */
const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('..', '.', '/', '../x', 'a/../../b', '%2e%2e', 'a:b', 'a\\b', 'a\0b', ' g', 'g ', '', '0', '123', 'x'.repeat(53)),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$/),
  fc.stringMatching(/^[A-Za-z0-9._/:-]{1,70}$/),
);

describe('start under arbitrary input', () => {
  it('either starts a valid game id or answers start_config_invalid; never prepares a path outside the root', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (gameId) => {
        const w = world();
        const result = await startRuntime(w.deps, { gameId, imageRef: IMAGE, opSource: 'lobby_stream', sourceRef: 'fuzz' });
        const valid = GAME_ID_PATTERN.test(gameId) && !/^[0-9]+$/.test(gameId);
        if (valid) {
          expect(result.outcome).toBe('success');
          expect(w.stateDirs.prepared).toEqual([`/srv/game-state/${gameId}`]);
        } else {
          expect(result).toMatchObject({ outcome: 'failure', errorCode: 'start_config_invalid', retryable: false });
          expect(w.stateDirs.prepared).toEqual([]);
          expect(w.docker.calls).toEqual([]);
          expect(w.leases.releases).toEqual([]);
        }
        for (const path of w.stateDirs.prepared) {
          expect(path.startsWith('/srv/game-state/')).toBe(true);
          expect(path.slice('/srv/game-state/'.length)).not.toMatch(/[/\\]|^\.\.?$/);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on an arbitrary image ref: a bad one is start_config_invalid before any Docker call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.stringMatching(/^[a-zA-Z0-9._/:@-]{0,80}$/)), async (imageRef) => {
        const w = world();
        const result = await startRuntime(w.deps, { gameId: 'g-fuzz', imageRef, opSource: 'gm_rest', sourceRef: 'fuzz' });
        const parsed = parseImageRef(imageRef);
        if (imageRef.trim() === '' || !parsed.ok) {
          expect(result).toMatchObject({ outcome: 'failure', errorCode: 'start_config_invalid' });
          expect(w.docker.calls.filter((c) => c !== 'networkExists')).toEqual([]);
        } else {
          // A well-formed ref that is not local: the pull (no registry) fails.
          expect(result).toMatchObject({ outcome: 'failure', errorCode: 'image_pull_failed' });
        }
      }),
      { numRuns: 400 },
    );
  });

  it('parseImageRef is total: it answers ok or a reason for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (ref) => {
        const parsed = parseImageRef(ref);
        expect(typeof parsed.ok).toBe('boolean');
        if (parsed.ok) expect(parsed.value.normalized.length).toBeGreaterThan(0);
        else expect(parsed.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
