import { describe, expect, it } from 'vitest';
import { TEST_KEY, testEdge } from '../../testing/harness.ts';
import { type CorsOrigins, parseCorsOrigins } from './cors.ts';

describe('parseCorsOrigins', () => {
  it.each([
    ['*', '*'],
    ['https://app.example.com', ['https://app.example.com']],
    [' https://a.example.com , http://localhost:5173 ', ['https://a.example.com', 'http://localhost:5173']],
    ['HTTPS://App.Example.com', ['https://app.example.com']],
  ])('%s', (value, expected) => {
    expect(parseCorsOrigins(value)).toEqual(expected);
  });

  it.each([',', 'https://a.example.com/', 'app.example.com', '*,https://a.example.com', 'https://a.example.com/path', 'ftp://a.example.com'])(
    'refuses %s',
    (value) => {
      expect(() => parseCorsOrigins(value)).toThrow();
    },
  );
});

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type,x-stainless-os',
  },
});

describe('CORS on the edge', () => {
  const edge = (corsOrigins?: CorsOrigins) => testEdge({ deps: { options: { corsOrigins } } });

  it('unset: no CORS headers, preflight not answered as CORS', async () => {
    const t = await edge();
    const res = await t.app.request('/v1/chat/completions', preflight('https://app.example.com'));
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await t.app.request('/v1/models', { headers: { origin: 'https://app.example.com', authorization: `Bearer ${TEST_KEY}` } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a listed origin: preflight answered before auth, with the SDK headers allowed', async () => {
    const t = await edge(['https://app.example.com']);
    const res = await t.app.request('/v1/chat/completions', preflight('https://app.example.com'));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const allowed = res.headers.get('access-control-allow-headers') ?? '';
    for (const h of ['authorization', 'content-type', 'x-request-id', 'x-session-id', 'x-stainless-os', 'x-stainless-retry-count'])
      expect(allowed).toContain(h);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('an unlisted origin gets no allow-origin', async () => {
    const t = await edge(['https://app.example.com']);
    const res = await t.app.request('/v1/chat/completions', preflight('https://evil.example.com'));
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('* allows any origin; errors carry the headers too, with the request id and retry-after exposed', async () => {
    const t = await edge('*');
    const res = await t.app.request('/v1/models', { headers: { origin: 'https://any.example.com' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const exposed = res.headers.get('access-control-expose-headers') ?? '';
    for (const h of ['x-request-id', 'x-ratelimit-remaining-requests', 'retry-after']) expect(exposed).toContain(h);
  });
});
