import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { MAX_SKEW_MS, parseKeyring, ReplayGuard, sign, signHeaders, signInputOf, verify } from './signing.ts';

const key = { kid: 'k1', secret: 'a-very-long-test-secret' };
const ring = new Map([[key.kid, key.secret]]);
const input = { method: 'POST', path: '/v1/chat/completions', requestId: 'req-1', tenantId: 't1', body: '{"a":1}' };

describe('sign/verify', () => {
  it('accepts its own signature', async () => {
    const h = await sign(input, key, 1_000_000);
    await expect(verify(h, input, ring, 1_000_500)).resolves.toEqual({ t: 1_000_000, kid: 'k1' });
  });

  it.each([
    ['body', { body: '{"a":2}' }],
    ['path', { path: '/v1/completions' }],
    ['method', { method: 'GET' }],
    ['request id', { requestId: 'req-2' }],
    ['tenant', { tenantId: 't2' }],
    ['key id (x-key-id)', { keyId: 'key_other' }],
    ['deadline (x-deadline)', { deadline: '9999999999999' }],
    ['client usage flag', { clientUsage: '1' }],
  ])('rejects a changed %s', async (_name, change) => {
    const h = await sign(input, key, 1_000_000);
    await expect(verify(h, { ...input, ...change }, ring, 1_000_000)).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it.each([
    ['missing', null],
    ['malformed', 't=1,kid=k1,v1=zz'],
    ['unknown kid', `t=1000000,kid=k9,v2=${'0'.repeat(64)}`],
    ['v1 (unsigned headers)', `t=1000000,kid=k1,v1=${'0'.repeat(64)}`],
  ])('rejects a %s header', async (_name, header) => {
    await expect(verify(header, input, ring, 1_000_000)).rejects.toBeInstanceOf(ApiError);
  });

  it('signs every protocol header a request carries, so none can be changed in transit', async () => {
    const headers = { 'x-request-id': 'r1', 'x-tenant-id': 't1', 'x-key-id': 'key_a', 'x-deadline': '2000000' };
    const signature = await signHeaders('POST', '/v1/completions', headers, '{}', key, 1_000_000);
    const received = (h: Record<string, string>) =>
      signInputOf(new Request('http://o/v1/completions', { method: 'POST', headers: h }), new TextEncoder().encode('{}'));
    await expect(verify(signature, received(headers), ring, 1_000_000)).resolves.toMatchObject({ kid: 'k1' });
    await expect(verify(signature, received({ ...headers, 'x-key-id': 'key_b' }), ring, 1_000_000)).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(verify(signature, received({ ...headers, 'x-deadline': '9000000' }), ring, 1_000_000)).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('rejects a signature outside the skew window, both directions', async () => {
    const h = await sign(input, key, 1_000_000);
    await expect(verify(h, input, ring, 1_000_000 + MAX_SKEW_MS + 1)).rejects.toThrow(/skew/);
    await expect(verify(h, input, ring, 1_000_000 - MAX_SKEW_MS - 1)).rejects.toThrow(/skew/);
  });

  it('verifies with any kid of a rotated keyring', async () => {
    const { signing, ring: rotated } = parseKeyring('k2:another-long-secret-value,k1:a-very-long-test-secret');
    expect(signing.kid).toBe('k2');
    const old = await sign(input, key, 5);
    await expect(verify(old, input, rotated, 5)).resolves.toMatchObject({ kid: 'k1' });
  });

  it('refuses short secrets in a keyring', () => {
    expect(() => parseKeyring('k1:short')).toThrow(/16 characters/);
    expect(parseKeyring('just-a-bare-secret-value').signing.kid).toBe('k1');
  });
});

describe('ReplayGuard', () => {
  it('rejects a repeat inside the window and forgets after it', () => {
    const g = new ReplayGuard(1000);
    expect(g.check('a', 0)).toBe(true);
    expect(g.check('a', 500)).toBe(false);
    expect(g.check('b', 900)).toBe(true);
    expect(g.check('a', 1500)).toBe(true);
  });

  it('stays bounded', () => {
    const g = new ReplayGuard(10_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) expect(g.check(id, 1)).toBe(true);
    expect(g.check('a', 2)).toBe(true); // evicted as the oldest
    expect(g.check('d', 2)).toBe(false);
  });
});
