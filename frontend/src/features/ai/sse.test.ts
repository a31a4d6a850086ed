import { describe, expect, it } from 'vitest';
import { SseParser, readSseStream, type SseEvent } from './sse';

function parseChunks(chunks: string[]): SseEvent[] {
  const parser = new SseParser();
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
}

const STREAM = 'event: context\ndata: {"sources":[]}\n\nevent: delta\ndata: {"text":"Hel"}\n\nevent: done\ndata: {"insight_id":7}\n\n';

describe('SseParser', () => {
  it('parses named events', () => {
    expect(parseChunks([STREAM])).toEqual([
      { event: 'context', data: '{"sources":[]}' },
      { event: 'delta', data: '{"text":"Hel"}' },
      { event: 'done', data: '{"insight_id":7}' },
    ]);
  });

  it('gives the same events however the stream is cut into chunks', () => {
    const whole = parseChunks([STREAM]);
    for (let size = 1; size <= 7; size += 1) {
      const chunks: string[] = [];
      for (let at = 0; at < STREAM.length; at += size) chunks.push(STREAM.slice(at, at + size));
      expect(parseChunks(chunks)).toEqual(whole);
    }
    // A cut inside the field name, inside the data and between the two newlines of the blank line.
    expect(parseChunks(['eve', 'nt: delta\nda', 'ta: {"text":"a"}\n', '\n'])).toEqual([{ event: 'delta', data: '{"text":"a"}' }]);
  });

  it('only dispatches an event at its blank line', () => {
    const parser = new SseParser();
    expect(parser.push('event: delta\ndata: {"text":"a"}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'delta', data: '{"text":"a"}' }]);
  });

  it('accepts \\r\\n and \\r line ends, also when \\r and \\n arrive in different chunks', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    expect(parseChunks([crlf])).toEqual(parseChunks([STREAM]));
    const pieces = crlf.split(/(?<=\r)/); // every chunk ends right after a \r
    expect(parseChunks(pieces)).toEqual(parseChunks([STREAM]));
    expect(parseChunks(['data: a\r', '\r', 'data: b\r\r'])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
  });

  it('joins multi-line data with newlines and keeps a value without the leading space only once', () => {
    expect(parseChunks(['data: line one\ndata:line two\ndata:  indented\n\n'])).toEqual([
      { event: 'message', data: 'line one\nline two\n indented' },
    ]);
  });

  it('ignores comment (keep-alive) lines, retry and unknown fields, and events without data', () => {
    expect(
      parseChunks([': keep-alive\n\n', 'retry: 1000\nfoo: bar\n\n', 'event: delta\n:ping\ndata: {"text":"x"}\n', ': more\n\n']),
    ).toEqual([{ event: 'delta', data: '{"text":"x"}' }]);
  });

  it('dispatches a last event the server closed without a blank line', () => {
    expect(parseChunks(['event: done\ndata: {"insight_id":1}'])).toEqual([{ event: 'done', data: '{"insight_id":1}' }]);
  });

  it('keeps the last event id', () => {
    expect(parseChunks(['id: 4\ndata: a\n\ndata: b\n\n'])).toEqual([
      { event: 'message', data: 'a', id: '4' },
      { event: 'message', data: 'b', id: '4' },
    ]);
  });
});

describe('readSseStream', () => {
  it('decodes UTF-8 split across byte chunks', async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"磁盘满"}\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 3) controller.enqueue(bytes.slice(at, at + 3));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    await readSseStream(stream, (event) => events.push(event));
    expect(events).toEqual([{ event: 'delta', data: '{"text":"磁盘满"}' }]);
  });
});
