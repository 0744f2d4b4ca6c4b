import { describe, expect, it } from 'vitest';
import { ERROR_MESSAGE_MAX_BYTES, truncateMessage } from '../../src/domain/errors.js';

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe('truncateMessage: a daemon text bounded in UTF-8 bytes', () => {
  it('leaves a message within the bound as it is, at the bound too', () => {
    expect(truncateMessage('no such image: x')).toBe('no such image: x');
    const exact = 'a'.repeat(ERROR_MESSAGE_MAX_BYTES);
    expect(truncateMessage(exact)).toBe(exact);
  });

  it('cuts a longer one to the bound, saying so', () => {
    const cut = truncateMessage('a'.repeat(ERROR_MESSAGE_MAX_BYTES + 1));
    expect(cut).toMatch(/^a+… \(truncated\)$/);
    expect(bytes(cut)).toBe(ERROR_MESSAGE_MAX_BYTES);
  });

  // Each width of UTF-8 character, shifted across the cut: never half a character, never past the bound.
  it.each(['é', '€', '😀'])('never splits %s, wherever the cut falls', (char) => {
    for (let shift = 0; shift < 4; shift++) {
      const cut = truncateMessage(`${'a'.repeat(shift)}${char.repeat(2_000)}`);
      expect(bytes(cut)).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);
      expect(bytes(cut)).toBeGreaterThan(ERROR_MESSAGE_MAX_BYTES - 4);
      expect(cut).not.toContain('\uFFFD');
      expect(cut.replace('… (truncated)', '')).toMatch(new RegExp(`^a{${shift}}(?:${char})+$`, 'u'));
    }
  });

  it('changes nothing when applied twice (a restart carries its inner start message on)', () => {
    const once = truncateMessage('x'.repeat(5_000));
    expect(truncateMessage(once)).toBe(once);
  });
});
