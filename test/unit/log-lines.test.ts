import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../src/domain/engine-port.js';
import { LOG_LINE_MAX_BYTES, LineAssembler } from '../../src/domain/log-lines.js';
import { DockerLogParser } from '../../src/infra/docker/log-frames.js';
import { LogBuffer } from '../../src/http/log-buffer.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
const TS = '2026-12-07T10:00:00.123456789Z';

function assemble(pieces: Array<[string, Uint8Array | string]>, dropCarriageReturn = false): LogLine[] {
  const lines: LogLine[] = [];
  const assembler = new LineAssembler('stdout', { line: (l) => lines.push(l) }, dropCarriageReturn);
  for (const [ts, bytes] of pieces) assembler.push(ts, typeof bytes === 'string' ? utf8(bytes) : bytes);
  assembler.end();
  return lines;
}

/** Docker's frame: stream, three zero bytes, the payload's length big-endian, the payload. */
function frame(stream: 1 | 2 | 3, payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === 'string' ? utf8(payload) : payload;
  const out = new Uint8Array(8 + body.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

function parse(tty: boolean, chunks: Uint8Array[]): { lines: LogLine[]; error: string } {
  const lines: LogLine[] = [];
  const parser = new DockerLogParser(tty, { line: (l) => lines.push(l) });
  for (const chunk of chunks) parser.write(chunk);
  parser.end();
  return { lines, error: parser.error };
}

describe('LineAssembler (contract §16 bounds on a line)', () => {
  it('ends a line at each newline, stamped with when its first piece came; an empty line is a line; a last piece without newline is one at the end', () => {
    expect(
      assemble([
        ['t1', 'a\n\nb'],
        ['t2', 'c\nd'],
      ]),
    ).toEqual([
      { ts: 't1', stream: 'stdout', line: 'a', truncated: false },
      { ts: 't1', stream: 'stdout', line: '', truncated: false },
      { ts: 't1', stream: 'stdout', line: 'bc', truncated: false },
      { ts: 't2', stream: 'stdout', line: 'd', truncated: false },
    ]);
    expect(assemble([['t1', 'a\n']])).toHaveLength(1);
  });

  it('cuts a line longer than 16 KiB at 16 KiB, marks it, and goes on with the next line whole', () => {
    const long = 'x'.repeat(20_000);
    const lines = assemble([
      ['t', `${long.slice(0, 9_000)}`],
      ['t', `${long.slice(9_000)}\nnext\n`],
    ]);
    expect(lines.map((l) => [l.line.length, l.truncated])).toEqual([
      [LOG_LINE_MAX_BYTES, true],
      [4, false],
    ]);
    expect(assemble([['t', `${'y'.repeat(LOG_LINE_MAX_BYTES)}\n`]])[0]).toMatchObject({ truncated: false });
  });

  it('a character the cut falls inside is left out whole, not replaced', () => {
    // 16383 ASCII bytes, then a three-byte snowman straddling the 16 KiB cut.
    const lines = assemble([['t', `${'a'.repeat(LOG_LINE_MAX_BYTES - 1)}\u2603tail\n`]]);
    expect(lines[0]!.line).toBe('a'.repeat(LOG_LINE_MAX_BYTES - 1));
    expect(lines[0]!.truncated).toBe(true);
  });

  it('bytes that are not UTF-8 become U+FFFD; a character split over two pieces is decoded whole', () => {
    const snowman = utf8('\u2603');
    const lines = assemble([
      ['t', new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x0a])],
      ['t', concat(utf8('snow '), snowman.subarray(0, 1))],
      ['t', concat(snowman.subarray(1), utf8(' man\n'))],
    ]);
    expect(lines.map((l) => l.line)).toEqual(['a\uFFFD\uFFFDb', 'snow \u2603 man']);
  });

  it("a TTY's \\r before the newline is no part of the line", () => {
    expect(assemble([['t', 'a\r\nb\n']], true).map((l) => l.line)).toEqual(['a', 'b']);
    expect(assemble([['t', 'a\r\n']], false).map((l) => l.line)).toEqual(['a\r']);
  });
});

describe('a sink that does not want lines (its reader would drop them)', () => {
  it('passes whole lines over undecoded while it says no, and hands whole lines again once it says yes', () => {
    let wants = true;
    const lines: string[] = [];
    let passed = 0;
    const assembler = new LineAssembler('stdout', { line: (l) => lines.push(l.line), wants: () => wants, passed: () => passed++ });
    assembler.push(TS, utf8('one\ntw'));
    wants = false;
    // `two` began while it wanted lines and ends while it does not: passed over whole, with the next one.
    assembler.push(TS, utf8('o\nthree\nfo'));
    wants = true;
    assembler.push(TS, utf8('ur\nfive\n'));
    expect(lines).toEqual(['one', 'four', 'five']);
    expect(passed).toBe(2);
  });

  it('LogBuffer: once a line is dropped, every line is until the reader takes some of the queue, and the engine is told not to decode them', async () => {
    const dropped: number[] = [];
    const buffer = new LogBuffer('ndjson', 16 * 1024, () => dropped.push(1));
    const line = (text: string): LogLine => ({ ts: TS, stream: 'stdout', line: text, truncated: false });
    while (buffer.wants()) buffer.line(line('x'.repeat(1000)));
    expect(dropped).toHaveLength(1);
    const held = buffer.size;
    // A small line would fit in what is left, but the gap is one gap.
    expect(held + 100).toBeLessThan(16 * 1024);
    buffer.line(line('small'));
    buffer.passed();
    expect(buffer.size).toBe(held);
    expect(dropped).toHaveLength(3);
    const taken = (await buffer.next())!.toString();
    expect(buffer.wants()).toBe(true);
    buffer.line(line('after'));
    buffer.finish(null);
    let rest = '';
    for (let chunk = await buffer.next(); chunk; chunk = await buffer.next()) rest += chunk.toString();
    const events = `${taken}${rest}`
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line?: string; dropped?: number });
    expect(events.slice(-2)).toEqual([{ dropped: 3 }, { ts: TS, stream: 'stdout', line: 'after' }]);
  });
});

describe('LogBuffer: the queue in blocks', () => {
  const drain = async (buffer: LogBuffer) => {
    const chunks: Buffer[] = [];
    for (let chunk = await buffer.next(); chunk; chunk = await buffer.next()) chunks.push(chunk);
    return chunks;
  };
  const line = (text: string): LogLine => ({ ts: TS, stream: 'stdout', line: text, truncated: false });

  it('gives back every line whole and in order across blocks, each read at most a block, what was taken never written over', async () => {
    const buffer = new LogBuffer('ndjson', 4 * 1024 * 1024);
    buffer.line(line('one'));
    // Taken before more is written into the same block: what the reader holds must stay as it was.
    const taken = (await buffer.next())!;
    const copy = Buffer.from(taken);
    for (let i = 0; i < 5_000; i++) buffer.line(line(`line ${i} ${'é'.repeat(i % 50)}`));
    buffer.finish({ event: 'end', json: { end: true, exit_code: 0 } });
    const chunks = await drain(buffer);
    expect(taken.equals(copy)).toBe(true);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(64 * 1024);
    const events = Buffer.concat([taken, ...chunks])
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line?: string });
    expect(events.map((e) => e.line)).toEqual(['one', ...Array.from({ length: 5_000 }, (_, i) => `line ${i} ${'é'.repeat(i % 50)}`), undefined]);
    expect(buffer.size).toBe(0);
  });

  it('an event longer than a block (16 KiB of control characters, escaped six times over) comes whole', async () => {
    const buffer = new LogBuffer('sse', 1024 * 1024);
    const control = '\u0001'.repeat(16 * 1024);
    buffer.line(line('before'));
    buffer.line(line(control));
    buffer.finish(null);
    const text = Buffer.concat(await drain(buffer)).toString('utf8');
    const data = text
      .split('\n\n')
      .filter(Boolean)
      .map((event) => JSON.parse(event.split('\ndata: ')[1]!) as { line: string });
    expect(data.map((d) => d.line)).toEqual(['before', control]);
  });
});

describe("DockerLogParser (Docker's log stream with timestamps)", () => {
  const framed = concat(
    frame(1, `${TS} out one\n`),
    frame(2, `${TS} err one\n`),
    // A message Docker cut in two (a partial one without its newline, then the rest, stamped again).
    frame(1, `${TS} part`),
    frame(1, `2026-12-07T10:00:01.000000000Z ial\n`),
    frame(2, `${TS} err \u2603\n`),
  );
  const expected = [
    { ts: TS, stream: 'stdout', line: 'out one', truncated: false },
    { ts: TS, stream: 'stderr', line: 'err one', truncated: false },
    { ts: TS, stream: 'stdout', line: 'partial', truncated: false },
    { ts: TS, stream: 'stderr', line: 'err \u2603', truncated: false },
  ];

  it('demultiplexes frames into stdout and stderr lines, the timestamp taken off each message', () => {
    expect(parse(false, [framed])).toEqual({ lines: expected, error: '' });
  });

  it('reads the same however the stream is cut into chunks: at every byte', () => {
    for (let cut = 1; cut < framed.length; cut++) {
      expect(parse(false, [framed.subarray(0, cut), framed.subarray(cut)]).lines, `cut at ${cut}`).toEqual(expected);
    }
    expect(
      parse(
        false,
        [...framed].map((b) => new Uint8Array([b])),
      ).lines,
    ).toEqual(expected);
  });

  it("a TTY's stream has no frames: each message is `timestamp message` up to its newline, all stdout", () => {
    const raw = utf8(`${TS} one\r\n${TS} two \u2603\r\n`);
    const want = [
      { ts: TS, stream: 'stdout', line: 'one', truncated: false },
      { ts: TS, stream: 'stdout', line: 'two \u2603', truncated: false },
    ];
    expect(parse(true, [raw]).lines).toEqual(want);
    for (let cut = 1; cut < raw.length; cut++) expect(parse(true, [raw.subarray(0, cut), raw.subarray(cut)]).lines).toEqual(want);
  });

  it("keeps what the daemon wrote on its own stream (3) as the stream's error", () => {
    expect(parse(false, [concat(frame(1, `${TS} ok\n`), frame(3, 'error from daemon in stream: boom\n'))])).toEqual({
      lines: [{ ts: TS, stream: 'stdout', line: 'ok', truncated: false }],
      error: 'error from daemon in stream: boom',
    });
  });
});
