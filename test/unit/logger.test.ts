import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/domain/ports.js';
import { createLogger, isoTime } from '../../src/infra/logger.js';

function capture(level: string): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const logger = createLogger(level, { role: 'test' }, { write: (chunk: string) => void chunks.push(chunk) });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger (pino behind the domain Logger port)', () => {
  it('writes one JSON line per call: fields, message, level, ISO time and the service bindings', () => {
    const { logger, lines } = capture('info');
    logger.info({ gameId: 'g-1', step: 'pull_image' }, 'pulled');
    const [line] = lines();
    expect(line).toMatchObject({ level: 30, service: 'rtmanager', role: 'test', gameId: 'g-1', step: 'pull_image', msg: 'pulled' });
    expect(line?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('drops lines below its level', () => {
    const { logger, lines } = capture('warn');
    logger.debug({}, 'd');
    logger.info({}, 'i');
    logger.warn({}, 'w');
    logger.error({}, 'e');
    expect(lines().map((l) => l.msg)).toEqual(['w', 'e']);
  });

  it('child loggers are port Loggers carrying their fields on every line', () => {
    const { logger, lines } = capture('debug');
    const child: Logger = logger.child({ gameId: 'g-2' }).child({ opKind: 'start' });
    child.debug({ attempt: 1 }, 'step');
    expect(lines()).toEqual([expect.objectContaining({ level: 20, gameId: 'g-2', opKind: 'start', attempt: 1, msg: 'step' })]);
  });
});

describe('the log line time', () => {
  it('is the text of pino isoTime at every instant, across seconds and within one', () => {
    const instants = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1_765_108_800_000, 1_765_108_800_007, 1_765_108_800_070, 1_765_108_800_700, 1_765_108_801_000];
    // Out of order too: the second's text must follow the clock back as well as forward.
    for (const now of [...instants, ...instants.reverse(), Date.now()]) {
      vi.spyOn(Date, 'now').mockReturnValue(now);
      expect(isoTime()).toBe(pino.stdTimeFunctions.isoTime());
      vi.restoreAllMocks();
    }
  });

  it('is what a logged line carries', () => {
    const { logger, lines } = capture('info');
    const before = Date.now();
    logger.info({}, 'now');
    const time = Date.parse(lines()[0]!.time as string);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });
});
