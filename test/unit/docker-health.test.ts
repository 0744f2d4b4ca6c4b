import { describe, expect, it } from 'vitest';
import { declaresHealthcheck, healthOfState, healthOfStatusLine } from '../../src/infra/docker/health.js';

describe('the daemon’s words for a HEALTHCHECK', () => {
  it('an image declares one unless its test is absent or NONE (a child image may disable its base’s)', () => {
    expect(declaresHealthcheck({ Healthcheck: { Test: ['CMD', '/bin/busybox', 'test', '-f', '/ok'] } })).toBe(true);
    expect(declaresHealthcheck({ Healthcheck: { Test: ['CMD-SHELL', 'true'] } })).toBe(true);
    expect(declaresHealthcheck({ Healthcheck: { Test: ['NONE'] } })).toBe(false);
    expect(declaresHealthcheck({ Healthcheck: { Test: [] } })).toBe(false);
    expect(declaresHealthcheck({})).toBe(false);
    expect(declaresHealthcheck(undefined)).toBe(false);
  });

  it('a container’s health from its inspect, none without one', () => {
    expect(healthOfState({ Health: { Status: 'healthy' } })).toBe('healthy');
    expect(healthOfState({ Health: { Status: 'unhealthy' } })).toBe('unhealthy');
    expect(healthOfState({ Health: { Status: 'starting' } })).toBe('starting');
    expect(healthOfState({})).toBe('none');
  });

  it.each([
    ['Up 3 seconds (healthy)', 'healthy'],
    ['Up 2 minutes (unhealthy)', 'unhealthy'],
    ['Up Less than a second (health: starting)', 'starting'],
    ['Up 5 hours', 'none'],
    ['Exited (0) 2 seconds ago', 'none'],
  ] as const)('a listing’s status line %j: %s', (line, health) => {
    expect(healthOfStatusLine(line)).toBe(health);
  });
});
