import { describe, expect, it } from 'vitest';
import { parseJson, readBodyLimited } from '#shared/request-body.ts';
import { endToEndHeaders } from './headers.ts';

describe('readBodyLimited', () => {
  it('counts a chunked body (no content-length) and refuses it past the limit', async () => {
    const chunks = [new Uint8Array(600), new Uint8Array(600)];
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
      cancel() {
        cancelled = true;
      },
    });
    const req = new Request('http://x/', { method: 'POST', body, duplex: 'half' } as RequestInit);
    await expect(readBodyLimited(req, 1000)).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(cancelled).toBe(true);
  });

  it('refuses a declared length over the limit without reading', async () => {
    const req = new Request('http://x/', { method: 'POST', body: 'x'.repeat(10), headers: { 'content-length': '5000' } });
    await expect(readBodyLimited(req, 1000)).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('returns the exact bytes', async () => {
    const bytes = await readBodyLimited(new Request('http://x/', { method: 'POST', body: '{"a":"é"}' }), 1000);
    expect(parseJson(bytes)).toEqual({ a: 'é' });
  });

  it.each(['', '{', 'nul', '\u00ff'])('parseJson rejects %j as invalid_json', (text) => {
    const bytes = text === '\u00ff' ? new Uint8Array([0xff]) : new TextEncoder().encode(text);
    expect(() => parseJson(bytes)).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });
});

it('endToEndHeaders drops hop-by-hop, re-framed and internal headers', () => {
  const h = new Headers({
    'content-type': 'application/json',
    connection: 'keep-alive, x-hop',
    'keep-alive': 'timeout=5',
    'x-hop': '1',
    'transfer-encoding': 'chunked',
    'content-length': '10',
    'content-encoding': 'gzip',
    'x-motif-replica': 'r1',
    'set-cookie': 'a=b',
    'openai-processing-ms': '12',
  });
  expect([...endToEndHeaders(h).keys()].sort()).toEqual(['content-type', 'openai-processing-ms']);
});
