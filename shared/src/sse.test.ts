import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { readSse, SSE_DONE, SseParser, sseData, sseError } from './sse.ts';

const dec = new TextDecoder();

describe('SseParser', () => {
  it('reassembles frames split at arbitrary points', () => {
    const text = dec.decode(sseData({ a: 1 })) + dec.decode(sseData('x\ny')) + dec.decode(SSE_DONE);
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(events.map((e) => e.data)).toEqual(['{"a":1}', 'x\ny', '[DONE]']);
    }
  });

  it('parses CRLF, comments and named events', () => {
    const p = new SseParser();
    expect(p.push(': ping\r\n\r\nevent: error\r\ndata: {"e":1}\r\n\r\n')).toEqual([{ event: 'error', data: '{"e":1}' }]);
  });

  it('renders an error frame with OpenAI error JSON', () => {
    const p = new SseParser();
    const [ev] = p.push(dec.decode(sseError(new ApiError('origin_unavailable', 'gone'))));
    expect(ev?.event).toBe('error');
    expect(JSON.parse(ev!.data)).toEqual({ error: { message: 'gone', type: 'server_error', param: null, code: 'origin_unavailable' } });
  });
});

describe('readSse', () => {
  it('reads a byte stream including an unterminated last frame', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(sseData({ n: 1 }));
        c.enqueue(new TextEncoder().encode('data: tail'));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const e of readSse(body)) out.push(e.data);
    expect(out).toEqual(['{"n":1}', 'tail']);
  });
});
