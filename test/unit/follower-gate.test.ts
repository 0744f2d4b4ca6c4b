import { describe, expect, it } from 'vitest';
import { followerGate } from '../../src/http/follower-gate.js';

describe('followerGate (RTMANAGER_LOG_STREAM_MAX_FOLLOWERS)', () => {
  it('gives at most `max` places; a place given back (once, however often it is given back) is free again', () => {
    const gate = followerGate(2);
    const first = gate.tryEnter();
    const second = gate.tryEnter();
    expect(first).toBeTypeOf('function');
    expect(second).toBeTypeOf('function');
    expect(gate.tryEnter()).toBeNull();
    expect(gate.active).toBe(2);
    first!();
    first!();
    expect(gate.active).toBe(1);
    const third = gate.tryEnter();
    expect(third).toBeTypeOf('function');
    expect(gate.tryEnter()).toBeNull();
    second!();
    third!();
    expect(gate.active).toBe(0);
    expect(gate.max).toBe(2);
  });
});
