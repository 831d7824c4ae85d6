import { describe, expect, it } from 'vitest';
import { TEST_KEY, testEdge } from '../../testing/harness.ts';
import { isJsonMediaType } from './content-type.ts';

const chat = JSON.stringify({ model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] });

describe('isJsonMediaType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON;charset=UTF-8', true],
    ['application/merge-patch+json', true],
    ['application/vnd.api+json; charset=utf-8', true],
    ['text/plain;charset=UTF-8', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    ['application/jsonx', false],
    ['text/json', false],
  ])('%s → %s', (value, expected) => {
    expect(isJsonMediaType(value)).toBe(expected);
  });
});

describe('JSON-body routes refuse other media types with 415', () => {
  const send = async (path: string, headers: Record<string, string>, body: string | undefined = chat) => {
    const t = await testEdge({ deps: { options: { adminToken: 'admin-token-0123456789' } } });
    await t.beat(t.origins[0]!);
    return t.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${TEST_KEY}`, ...headers }, body });
  };

  it.each([
    { name: 'form-encoded chat', path: '/v1/chat/completions', type: 'application/x-www-form-urlencoded' },
    { name: 'text/plain (fetch without a content-type) chat', path: '/v1/chat/completions', type: 'text/plain;charset=UTF-8' },
    { name: 'multipart completions', path: '/v1/completions', type: 'multipart/form-data; boundary=x' },
    { name: 'form-encoded admin', path: '/admin/tenants', type: 'application/x-www-form-urlencoded' },
  ])('$name → 415 unsupported_media_type', async ({ path, type }) => {
    const res = await send(path, { 'content-type': type });
    expect(res.status).toBe(415);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const body = (await res.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error).toMatchObject({ code: 'unsupported_media_type', type: 'invalid_request_error' });
    expect(body.error.message).toContain('application/json');
  });

  it.each([
    { name: 'application/json (the openai SDK)', headers: { 'content-type': 'application/json' } },
    { name: 'with a charset', headers: { 'content-type': 'application/json; charset=utf-8' } },
    { name: 'a +json type', headers: { 'content-type': 'application/vnd.motif+json' } },
  ])('$name is accepted', async ({ headers }) => {
    expect((await send('/v1/chat/completions', headers)).status).toBe(200);
  });

  it('a missing content-type is read as JSON', async () => {
    const t = await testEdge();
    await t.beat(t.origins[0]!);
    const req = new Request('http://edge.test/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${TEST_KEY}` }, body: chat });
    req.headers.delete('content-type');
    expect(req.headers.get('content-type')).toBeNull();
    expect((await t.app.request(req)).status).toBe(200);
  });

  it('GET routes are not checked', async () => {
    const t = await testEdge();
    const res = await t.app.request('/v1/models', { headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
  });
});
