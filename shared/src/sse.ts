/**
 * Server-sent events as the OpenAI API uses them: `data: <json>\n\n` per chunk, `data: [DONE]` at
 * a clean end, and (our convention, as OpenAI does mid-stream) an `event: error` frame carrying
 * OpenAI error JSON when a stream fails after its first byte — never a clean-looking end.
 */
import { toErrorResponseParts } from './errors.ts';

const enc = new TextEncoder();

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

export function sseData(data: unknown): Uint8Array {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  // A newline inside data must become a new `data:` line, or it would end the field early.
  return enc.encode(`data: ${text.split(/\r?\n/).join('\ndata: ')}\n\n`);
}

export const SSE_DONE = enc.encode('data: [DONE]\n\n');

/** An error frame: `event: error` + OpenAI error JSON. */
export function sseError(err: unknown): Uint8Array {
  const { body } = toErrorResponseParts(err);
  return enc.encode(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Incremental SSE parser: feed decoded text, get complete events. Handles frames split across
 * network chunks, CRLF line ends and multi-line data fields.
 */
export class SseParser {
  private buf = '';

  push(text: string): SseEvent[] {
    this.buf += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buf);
      if (!m) break;
      const frame = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = parseFrame(frame);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** Whatever is left unterminated (a stream that was cut mid-frame). */
  get pending(): string {
    return this.buf;
  }
}

function parseFrame(frame: string): SseEvent | null {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of frame.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && event === undefined) return null;
  return { event, data: data.join('\n') };
}

/** Parse a whole SSE byte stream into events (for tests and the edge's usage reader). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const dec = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(dec.decode(value, { stream: true }));
    }
    yield* parser.push(`${dec.decode()}\n\n`);
  } finally {
    reader.releaseLock();
  }
}
