import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidGameId } from '../../src/domain/game-id.js';
import { TEST_TOKEN, testApp } from '../support/test-app.js';

function app() {
  const s = testApp({ bodyLimitBytes: 4096 });
  return { hono: s.app, calls: s.enqueuer.calls };
}

const jsonish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.record({ image_ref: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), source_ref: fc.option(fc.string()) }, { requiredKeys: [] }),
  fc.record({ image_ref: fc.stringMatching(/^[a-z0-9./:-]{1,40}$/) }),
);

describe('HTTP under arbitrary input', () => {
  it('every request to a lifecycle route gets 202 or a 4xx with an error code; only valid game ids are enqueued', { timeout: 60_000 }, async () => {
    const { hono, calls } = app();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9._:%/-]{1,60}$/)),
        fc.constantFrom('start', 'stop', 'restart', 'patch'),
        jsonish,
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.constantFrom('admin_rest', 'gm_rest', 'root', ''), { nil: undefined }),
        async (gameId, kind, body, wait, opSource) => {
          calls.length = 0;
          const query = wait === undefined ? '' : `?wait=${encodeURIComponent(wait)}`;
          const res = await hono.request(`/api/v1/internal/runtimes/${encodeURIComponent(gameId)}/${kind}${query}`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${TEST_TOKEN}`,
              'content-type': 'application/json',
              ...(opSource !== undefined ? { 'x-op-source': opSource } : {}),
            },
            body: typeof body === 'string' ? body : JSON.stringify(body),
          });
          expect([202, 400, 404, 413]).toContain(res.status);
          if (res.status !== 202) {
            const json = (await res.json()) as { error?: { code?: string; message?: string } };
            expect(typeof json.error?.code).toBe('string');
            expect(typeof json.error?.message).toBe('string');
            expect(calls).toEqual([]);
          } else {
            expect(calls).toHaveLength(1);
            expect(isValidGameId(calls[0]!.payload.gameId)).toBe(true);
            expect(['admin_rest', 'gm_rest']).toContain(calls[0]!.payload.opSource);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('no Authorization header value other than the token gets through', { timeout: 60_000 }, async () => {
    const { hono, calls } = app();
    const runs = 500;
    let refusedByFetch = 0;
    await fc.assert(
      fc.asyncProperty(fc.string(), async (header) => {
        fc.pre(header.trim().toLowerCase() !== `bearer ${TEST_TOKEN}`.toLowerCase());
        const init = { method: 'POST', headers: { authorization: header }, body: '{"image_ref":"x:1"}' };
        if (fetchRefusesHeader(header)) {
          // A value the Fetch API itself refuses never reaches us: the request cannot even be built.
          refusedByFetch += 1;
          await expect(hono.request('/api/v1/internal/runtimes/g-1/start', init)).rejects.toThrow(/invalid header value/);
          return;
        }
        const res = await hono.request('/api/v1/internal/runtimes/g-1/start', init);
        expect(res.status).toBe(401);
        expect(calls).toEqual([]);
      }),
      { numRuns: runs },
    );
    // Discarded runs prove nothing: they must stay a small part of the whole.
    expect(refusedByFetch).toBeLessThanOrEqual(runs / 20);
  });
});

/**
 * True when the Fetch API refuses `value` as a header value (a NUL, CR, LF or a
 * character above U+00FF): only its own TypeError counts, anything else is thrown.
 */
function fetchRefusesHeader(value: string): boolean {
  try {
    new Headers({ authorization: value });
    return false;
  } catch (error) {
    if (error instanceof TypeError && /invalid header value/.test(error.message)) return true;
    throw error;
  }
}
