import { describe, expect, it } from 'vitest';
import type { PullEvent } from '../../src/infra/docker/pull-progress.js';
import { PullTally } from '../../src/infra/docker/pull-progress.js';

/** What the daemon (20.10) streamed for a pull from the test registry: two layers already local, one downloaded. */
const PULL: PullEvent[] = [
  { status: 'Pulling from galaxy-test/engine-b73315a1', id: 'v1' },
  { status: 'Already exists', id: '8d1f0a7b2c11' },
  { status: 'Already exists', id: '2e4c5d6f7a88' },
  { status: 'Pulling fs layer', id: '9a0b1c2d3e44' },
  { status: 'Downloading', id: '9a0b1c2d3e44', progressDetail: { current: 32_768, total: 1_049_000 } },
  { status: 'Downloading', id: '9a0b1c2d3e44', progressDetail: { current: 524_288, total: 1_049_000 } },
  { status: 'Verifying Checksum', id: '9a0b1c2d3e44', progressDetail: {} },
  { status: 'Download complete', id: '9a0b1c2d3e44', progressDetail: {} },
  { status: 'Extracting', id: '9a0b1c2d3e44', progressDetail: { current: 65_536, total: 1_049_000 } },
  { status: 'Pull complete', id: '9a0b1c2d3e44', progressDetail: {} },
  { status: 'Digest: sha256:82326f091e90f448a5d719d6adff3bf57e8f6daa0c7d80a752a06cc280ebb9f3' },
  { status: 'Status: Downloaded newer image for 127.0.0.1:15000/galaxy-test/engine-b73315a1:v1' },
];

function replay(events: PullEvent[]) {
  const tally = new PullTally();
  return events.map((e) => ({ changed: tally.add(e), ...tally.snapshot() }));
}

describe('PullTally: the daemon per-layer events as one progress', () => {
  it('counts layers as they are revealed and bytes as they download, ending all done', () => {
    const steps = replay(PULL);
    expect(steps.map(({ layersDone, layersTotal, bytesDone, bytesTotal }) => [layersDone, layersTotal, bytesDone, bytesTotal])).toEqual([
      [0, 0, 0, 0],
      [1, 1, 0, 0],
      [2, 2, 0, 0],
      [2, 3, 0, 0],
      [2, 3, 32_768, 1_049_000],
      [2, 3, 524_288, 1_049_000],
      [2, 3, 1_049_000, 1_049_000],
      [2, 3, 1_049_000, 1_049_000],
      [2, 3, 1_049_000, 1_049_000],
      [3, 3, 1_049_000, 1_049_000],
      [3, 3, 1_049_000, 1_049_000],
      [3, 3, 1_049_000, 1_049_000],
    ]);
    // Lines about the image, and repeats that change nothing, are not news.
    expect(steps.map((s) => s.changed)).toEqual([false, true, true, true, true, true, true, false, false, true, false, false]);
  });

  it('leaves bytes at 0 when no layer says its size, and counts a layer that waits', () => {
    expect(
      replay([
        { status: 'Waiting', id: 'a' },
        { status: 'Pulling fs layer', id: 'b' },
        { status: 'Downloading', id: 'b', progressDetail: { current: 100 } },
        { status: 'Pull complete', id: 'a' },
      ]).at(-1),
    ).toEqual({ changed: true, layersDone: 1, layersTotal: 2, bytesDone: 100, bytesTotal: 0 });
  });
});
