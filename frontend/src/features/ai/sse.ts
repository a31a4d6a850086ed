/**
 * A Server-Sent Events parser for a `text/event-stream` body read in arbitrary chunks, as the
 * browser's `EventSource` would parse it (which cannot be used here: it only does GET and sends no
 * bearer token). Pure and incremental: feed it text as it arrives and it returns the events that
 * have completed. Lines end in `\n`, `\r\n` or `\r` (even when a chunk splits `\r` from `\n`);
 * `:` lines are comments (keep-alives); several `data:` lines join with `\n`; an event is
 * dispatched at a blank line, and only if it carried data.
 */

export interface SseEvent {
  /** `message` when the event had no `event:` field. */
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = '';
  /** The previous chunk ended in `\r`: a `\n` starting the next one belongs to that line end. */
  private skipLeadingLf = false;
  private eventName = '';
  private dataLines: string[] = [];
  private hasData = false;
  private lastId: string | undefined;

  /** Adds decoded text and returns the events it completed, in order. */
  push(text: string): SseEvent[] {
    let chunk = text;
    if (this.skipLeadingLf && chunk.startsWith('\n')) chunk = chunk.slice(1);
    if (chunk.length > 0) this.skipLeadingLf = false;
    this.buffer += chunk;

    const events: SseEvent[] = [];
    let start = 0;
    for (let index = 0; index < this.buffer.length; index += 1) {
      const char = this.buffer[index];
      if (char !== '\n' && char !== '\r') continue;
      const line = this.buffer.slice(start, index);
      if (char === '\r') {
        if (index + 1 < this.buffer.length) {
          if (this.buffer[index + 1] === '\n') index += 1;
        } else {
          this.skipLeadingLf = true;
        }
      }
      start = index + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /**
   * The end of the stream: an event still waiting for its blank line is dispatched (servers that
   * close right after the last `data:` line lose nothing).
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.buffer.length > 0) {
      const event = this.line(this.buffer);
      this.buffer = '';
      if (event) events.push(event);
    }
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        // `retry` and unknown fields are ignored.
        break;
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    const event: SseEvent | null = this.hasData
      ? { event: this.eventName || 'message', data: this.dataLines.join('\n'), ...(this.lastId === undefined ? {} : { id: this.lastId }) }
      : null;
    this.eventName = '';
    this.dataLines = [];
    this.hasData = false;
    return event;
  }
}

/** Reads a `text/event-stream` body to its end, calling `onEvent` for each event as it completes. */
export async function readSseStream(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true })).forEach(onEvent);
    }
    parser.push(decoder.decode()).forEach(onEvent);
    parser.end().forEach(onEvent);
  } finally {
    reader.releaseLock();
  }
}
