import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/domain/ports.js';
import { createLogger } from '../../src/infra/logger.js';

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
