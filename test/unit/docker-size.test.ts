import { describe, expect, it } from 'vitest';
import { parseDockerSize } from '../../src/domain/docker-size.js';

describe('parseDockerSize (the engine RAMInBytes rules)', () => {
  it.each([
    ['0', 0],
    ['1048576', 1048576],
    ['1b', 1],
    ['64k', 64 * 1024],
    ['64K', 64 * 1024],
    ['512m', 512 * 1024 ** 2],
    ['512MB', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2 g', 2 * 1024 ** 3],
    ['1t', 1024 ** 4],
    [' 32m ', 32 * 1024 ** 2],
  ])('%j → %d bytes', (raw, bytes) => {
    expect(parseDockerSize(raw)).toBe(bytes);
  });

  it.each(['', 'lots', '-1m', '1x', 'm', '1.g', '1e3', '1gb2', '0x10', '99999999999999999999p'])('%j is not a size', (raw) => {
    expect(parseDockerSize(raw)).toBeNull();
  });
});
