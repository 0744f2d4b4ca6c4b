/**
 * The daemon reports a pull one layer at a time (`Pulling fs layer`,
 * `Waiting`, `Downloading` with current/total bytes, `Verifying Checksum`,
 * `Download complete`, `Extracting`, `Pull complete`, `Already exists`) among
 * lines about the image as a whole (`Pulling from …`, `Digest: …`,
 * `Status: …`). A tally of the layers turns them into one PullProgress.
 */
import type { PullProgress } from '../../domain/engine-port.js';

export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

interface Layer {
  bytesDone: number;
  bytesTotal: number;
  done: boolean;
}

/** Lines that name the image, not a layer (`id` is then the tag, or absent). */
const IMAGE_LINE = /^(Pulling from|Digest:|Status:|Pulling repository)/;

export class PullTally {
  private readonly layers = new Map<string, Layer>();

  /** Counts one event; true when the tally changed. */
  add(event: PullEvent): boolean {
    const status = event.status ?? '';
    if (!event.id || IMAGE_LINE.test(status)) return false;
    const before = JSON.stringify(this.layers.get(event.id) ?? null);
    const layer = this.layers.get(event.id) ?? { bytesDone: 0, bytesTotal: 0, done: false };
    this.layers.set(event.id, layer);
    const { current, total } = event.progressDetail ?? {};
    if (status === 'Downloading') {
      if (typeof total === 'number' && total > 0) layer.bytesTotal = total;
      if (typeof current === 'number') layer.bytesDone = Math.min(current, layer.bytesTotal || current);
    } else if (status === 'Verifying Checksum' || status === 'Download complete' || status === 'Extracting') {
      layer.bytesDone = layer.bytesTotal;
    } else if (status === 'Pull complete') {
      layer.bytesDone = layer.bytesTotal;
      layer.done = true;
    } else if (status === 'Already exists') {
      layer.done = true;
    }
    return JSON.stringify(layer) !== before;
  }

  snapshot(): PullProgress {
    let layersDone = 0;
    let bytesDone = 0;
    let bytesTotal = 0;
    for (const layer of this.layers.values()) {
      if (layer.done) layersDone += 1;
      bytesDone += layer.bytesDone;
      bytesTotal += layer.bytesTotal;
    }
    return { layersDone, layersTotal: this.layers.size, bytesDone, bytesTotal };
  }
}
