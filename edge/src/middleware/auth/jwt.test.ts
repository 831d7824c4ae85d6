/**
 * JWT bearer auth, signed in-process with jose (no network): allow-lists, skew, tenant mapping,
 * scopes, and what an unconfigured edge does with a JWT.
 */
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { testEdge } from '../../testing/harness.ts';
import type { JwtOptions } from './jwt.ts';
import { jwtAuthenticator, looksLikeJwt } from './jwt.ts';

const ISS = 'https://idp.example.test/';
const AUD = 'motif';
const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };

async function setup(overrides: Partial<JwtOptions> = {}) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  const jwt: JwtOptions = {
    issuers: [ISS],
    audiences: [AUD],
    algorithms: ['ES256'],
    jwks: { set: { keys: [jwk] } },
    clockSkewS: 60,
    tenantClaim: 'tenant',
    scopesClaim: 'scope',
    ...overrides,
  };
  const t = await testEdge({ deps: { jwt } });
  await t.beat(t.origins[0]!);
  await t.keys.updateTenant('acme', { limits: { rpm: 42 }, monthlyTokens: 1000 }, t.clock.now());
  const nowS = () => Math.floor(t.clock.now() / 1000);
  const sign = (claims: JWTPayload, o: { iss?: string; aud?: string; exp?: number; iat?: number } = {}) =>
    new SignJWT({ tenant: 'acme', scope: 'inference usage:read', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('alice@example.test')
      .setIssuer(o.iss ?? ISS)
      .setAudience(o.aud ?? AUD)
      .setIssuedAt(o.iat ?? nowS())
      .setExpirationTime(o.exp ?? nowS() + 300)
      .sign(privateKey);
  const call = (token: string, path = '/v1/chat/completions') =>
    path === '/v1/chat/completions' ? t.post(path, chat, { authorization: `Bearer ${token}` }) : t.get(path, { authorization: `Bearer ${token}` });
  return { t, jwt, sign, call, nowS };
}

describe('JWT bearer auth', () => {
  it('admits a valid token as its tenant, metered as jwt:<sub>, with the tenant limits', async () => {
    const { t, jwt, sign, call } = await setup();
    expect((await call(await sign({}))).status).toBe(200);
    expect((await call(await sign({}), '/v1/usage')).status).toBe(200);
    const authenticate = jwtAuthenticator(jwt, { keys: t.keys, clock: t.clock });
    expect(await authenticate(await sign({}), () => {})).toEqual({
      tenantId: 'acme',
      keyId: 'jwt:alice@example.test',
      scopes: ['inference', 'usage:read'],
      limits: { tenant: { rpm: 42, tpm: null, maxConcurrent: null }, key: { rpm: null, tpm: null }, monthlyTokens: 1000 },
    });
  });

  it.each([
    { name: 'wrong issuer', claims: {}, o: { iss: 'https://evil.test/' } },
    { name: 'wrong audience', claims: {}, o: { aud: 'other' } },
    { name: 'unknown tenant', claims: { tenant: 'nobody' }, o: {} },
    { name: 'tenant claim missing', claims: { tenant: undefined }, o: {} },
    { name: 'tenant claim not an id', claims: { tenant: 'a b' }, o: {} },
  ])('refuses: $name → 401', async ({ claims, o }) => {
    const { sign, call } = await setup();
    expect((await call(await sign(claims, o))).status).toBe(401);
  });

  it('allows the configured clock skew and no more', async () => {
    const { sign, call, nowS } = await setup({ clockSkewS: 60 });
    expect((await call(await sign({}, { exp: nowS() - 30, iat: nowS() - 300 }))).status).toBe(200);
    expect((await call(await sign({}, { exp: nowS() - 90, iat: nowS() - 300 }))).status).toBe(401);
  });

  it('refuses an algorithm outside the allow-list and a forged signature', async () => {
    const { sign, call } = await setup({ algorithms: ['RS256'] });
    expect((await call(await sign({}))).status).toBe(401);
    const other = await setup();
    const token = await other.sign({});
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${token.split('.')[2]!.split('').reverse().join('')}`;
    expect((await other.call(forged)).status).toBe(401);
  });

  it('takes scopes from the claim, as a string or an array; a missing scope is 403', async () => {
    const { sign, call } = await setup();
    expect((await call(await sign({ scope: 'usage:read' }))).status).toBe(403);
    expect((await call(await sign({ scope: ['inference'] }))).status).toBe(200);
    expect((await call(await sign({ scope: ['inference'] }), '/v1/usage')).status).toBe(403);
  });

  it('refuses a disabled tenant', async () => {
    const { t, sign, call } = await setup();
    await t.keys.updateTenant('acme', { disabled: true }, t.clock.now());
    expect((await call(await sign({}))).status).toBe(401);
  });

  it('treats a JWT as an unknown key when JWT auth is not configured', async () => {
    const { sign } = await setup();
    const plain = await testEdge();
    const res = await plain.post('/v1/chat/completions', chat, { authorization: `Bearer ${await sign({})}` });
    expect(res.status).toBe(401);
    expect(looksLikeJwt('mtf_live_abc')).toBe(false);
  });
});
