/**
 * Reads a Server-Sent Events body frame by frame, as a browser's EventSource
 * would split it: frames end at a blank line; `id:`, `event:`, `data:` fields
 * and `:` comments.
 */
export interface SseFrame {
  id?: string;
  event?: string;
  /** The data lines joined by newlines. */
  data?: string;
  /** A comment line's text (after the colon and one space). */
  comment?: string;
}

export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private ended = false;
  private pending: ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> | null = null;

  constructor(body: ReadableStream<Uint8Array> | null) {
    if (!body) throw new Error('no body to read SSE from');
    this.reader = body.getReader();
  }

  /** The next frame; null once the stream ended. Throws when none comes within `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<SseFrame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const cut = this.buffer.indexOf('\n\n');
      if (cut >= 0) {
        const raw = this.buffer.slice(0, cut);
        this.buffer = this.buffer.slice(cut + 2);
        return parseFrame(raw);
      }
      if (this.ended) {
        if (this.buffer.trim() !== '') throw new Error(`stream ended inside a frame: ${JSON.stringify(this.buffer)}`);
        return null;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE frame within ${timeoutMs} ms (buffered: ${JSON.stringify(this.buffer)})`);
      // A read that lost the race is kept for the next call: another read would take the chunk after it.
      this.pending ??= this.reader.read();
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([this.pending, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left)))]).finally(() =>
        clearTimeout(timer),
      );
      if (chunk === 'timeout') continue;
      this.pending = null;
      if (chunk.done) this.ended = true;
      else this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Frames until the stream ends (comments included). */
  async rest(timeoutMs = 5_000): Promise<SseFrame[]> {
    const frames: SseFrame[] = [];
    for (let frame = await this.next(timeoutMs); frame; frame = await this.next(timeoutMs)) frames.push(frame);
    return frames;
  }

  /** The next frame that is not a comment. */
  async nextEvent(timeoutMs = 5_000): Promise<SseFrame | null> {
    for (;;) {
      const frame = await this.next(timeoutMs);
      if (!frame || frame.comment === undefined) return frame;
    }
  }

  /** Goes away, as a client that closes the page. */
  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

function parseFrame(raw: string): SseFrame {
  const frame: SseFrame = {};
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).replace(/^ /, '');
    else {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'id' || field === 'event') frame[field] = value;
    }
  }
  if (data.length) frame.data = data.join('\n');
  return frame;
}
