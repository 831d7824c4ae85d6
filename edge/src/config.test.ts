import { describe, expect, it } from 'vitest';
import { DEV_KEY_PEPPER, DEV_NODE_KEYS, DEV_ORIGIN_SECRET, loadEdgeConfig } from './config.ts';

const SECRET = 'k2:abcdefghijklmnopqrstuvwxyz,k1:0123456789abcdefghij';
const NODE_KEYS = 'gpu1-new:0123456789abcdef-new@gpu1,gpu1-old:0123456789abcdef-old@gpu1,gpu2:0123456789abcdef-gpu2@gpu2';
const PEPPER = 'config-test-pepper-0123456789abcdef';
const BASE = { MOTIF_ORIGIN_SECRET: SECRET, MOTIF_NODE_KEYS: NODE_KEYS, MOTIF_KEY_PEPPER: PEPPER };
const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] });

describe('loadEdgeConfig', () => {
  it('applies defaults', () => {
    const c = loadEdgeConfig(BASE);
    expect(c).toMatchObject({ port: 4680, host: '127.0.0.1', dataDir: '.data/edge', limits: {} });
    expect(c.signingKey.kid).toBe('k2');
    expect(c.nodeKeys.nodeOf.get('gpu1-old')).toBe('gpu1');
    expect([...c.nodeKeys.ring.keys()]).toEqual(['gpu1-new', 'gpu1-old', 'gpu2']);
    expect(c.originAllow.allows('http://10.1.2.3:4681')).toBe(true);
    expect(c.originAllow.allows('http://203.0.113.9:4681')).toBe(false);
    expect(c.devApiKey).toBeUndefined();
  });

  it('uses the dev keys only with MOTIF_DEV=1, and names each missing one', () => {
    expect(() => loadEdgeConfig({})).toThrow(/MOTIF_ORIGIN_SECRET: required[\s\S]*MOTIF_NODE_KEYS: required[\s\S]*MOTIF_KEY_PEPPER: required/);
    const dev = loadEdgeConfig({ MOTIF_DEV: '1' });
    expect(dev.keyPepper).toBe(DEV_KEY_PEPPER);
    expect(dev.signingKey.secret).toBe(DEV_ORIGIN_SECRET.split(':')[1]);
    expect([...dev.nodeKeys.nodeOf.values()]).toEqual([DEV_NODE_KEYS.split('@')[1]]);
  });

  it('response cache: on by default, off with MOTIF_CACHE=0, and its bounds', () => {
    expect(loadEdgeConfig(BASE).cache).toEqual({
      enabled: true,
      ttlMs: 300_000,
      maxBytes: 64 * 1024 * 1024,
      maxEntries: 10_000,
      maxEntryBytes: 262_144,
      hitTokensCount: false,
    });
    const on = loadEdgeConfig({ ...BASE, MOTIF_CACHE: '1', MOTIF_CACHE_TTL_S: '60', MOTIF_CACHE_MAX_BYTES: '2048', MOTIF_CACHE_HIT_TOKENS: 'true' });
    expect(on.cache).toMatchObject({ enabled: true, ttlMs: 60_000, maxBytes: 2048, hitTokensCount: true });
    expect(loadEdgeConfig({ ...BASE, MOTIF_CACHE: '0' }).cache.enabled).toBe(false);
    expect(loadEdgeConfig({ ...BASE, MOTIF_CACHE: 'false' }).cache.enabled).toBe(false);
    expect(() => loadEdgeConfig({ ...BASE, MOTIF_CACHE: 'yes' })).toThrow(/MOTIF_CACHE/);
    expect(() => loadEdgeConfig({ ...BASE, MOTIF_CACHE_TTL_S: '0' })).toThrow(/MOTIF_CACHE_TTL_S/);
  });

  it('keeps the two directions apart: an edge signing key is no node key', () => {
    const c = loadEdgeConfig(BASE);
    expect(c.nodeKeys.ring.has(c.signingKey.kid)).toBe(false);
  });

  it.each([
    { env: { MOTIF_EDGE_PORT: 'eighty' }, names: 'MOTIF_EDGE_PORT' },
    { env: { MOTIF_EDGE_PORT: '70000' }, names: 'MOTIF_EDGE_PORT' },
    { env: { MOTIF_ORIGIN_SECRET: 'short' }, names: 'MOTIF_ORIGIN_SECRET' },
    { env: { MOTIF_DEV_API_KEY: 'sk-short' }, names: 'MOTIF_DEV_API_KEY' },
    { env: { MOTIF_DEV_API_KEY: 'sk motif with spaces 0123456789' }, names: 'MOTIF_DEV_API_KEY' },
    { env: { MOTIF_ADMIN_TOKEN: 'tiny' }, names: 'MOTIF_ADMIN_TOKEN' },
    { env: { MOTIF_EDGE_RPM: '-5' }, names: 'MOTIF_EDGE_RPM' },
    { env: { MOTIF_EDGE_MAX_CONCURRENT: '1.5' }, names: 'MOTIF_EDGE_MAX_CONCURRENT' },
    { env: { MOTIF_EDGE_MONTHLY_TOKENS: '-1' }, names: 'MOTIF_EDGE_MONTHLY_TOKENS' },
    { env: { MOTIF_EDGE_MAX_CONTEXT_TOKENS: '0' }, names: 'MOTIF_EDGE_MAX_CONTEXT_TOKENS' },
    { env: { MOTIF_LIMITS_FAIL_OPEN: 'maybe' }, names: 'MOTIF_LIMITS_FAIL_OPEN' },
    { env: { MOTIF_DEV: 'yes' }, names: 'MOTIF_DEV' },
    { env: { MOTIF_NODE_KEYS: 'gpu1:short@gpu1' }, names: 'MOTIF_NODE_KEYS' },
    { env: { MOTIF_NODE_KEYS: 'gpu1:0123456789abcdef' }, names: 'MOTIF_NODE_KEYS' },
    { env: { MOTIF_ORIGIN_ALLOW: '10.0.0.0/99' }, names: 'MOTIF_ORIGIN_ALLOW' },
    { env: { MOTIF_ORIGIN_ALLOW: 'http://x' }, names: 'MOTIF_ORIGIN_ALLOW' },
    { env: { MOTIF_KEY_PEPPER: 'too-short-pepper' }, names: 'MOTIF_KEY_PEPPER' },
    { env: { MOTIF_JWT_JWKS: JWKS, MOTIF_JWT_AUDIENCE: 'motif' }, names: 'MOTIF_JWT_ISSUER' },
    { env: { MOTIF_JWT_JWKS: JWKS, MOTIF_JWT_ISSUER: 'https://idp' }, names: 'MOTIF_JWT_AUDIENCE' },
    { env: { MOTIF_JWT_JWKS: '{"keys": []}', MOTIF_JWT_ISSUER: 'https://idp', MOTIF_JWT_AUDIENCE: 'motif' }, names: 'MOTIF_JWT_JWKS' },
    { env: { MOTIF_JWT_JWKS_URL: 'ftp://idp/jwks', MOTIF_JWT_ISSUER: 'https://idp', MOTIF_JWT_AUDIENCE: 'motif' }, names: 'MOTIF_JWT_JWKS_URL' },
    { env: { MOTIF_JWT_JWKS: JWKS, MOTIF_JWT_ISSUER: 'i', MOTIF_JWT_AUDIENCE: 'a', MOTIF_JWT_ALGORITHMS: 'HS256' }, names: 'MOTIF_JWT_ALGORITHMS' },
  ])('names the bad variable: $names', ({ env, names }) => {
    expect(() => loadEdgeConfig({ ...BASE, ...env })).toThrow(new RegExp(`${names}[.:]`));
  });

  it('turns JWT auth on with a JWKS source, with lists and defaults', () => {
    expect(loadEdgeConfig(BASE).jwt).toBeUndefined();
    const c = loadEdgeConfig({ ...BASE, MOTIF_JWT_JWKS: JWKS, MOTIF_JWT_ISSUER: 'https://a, https://b', MOTIF_JWT_AUDIENCE: 'motif' });
    expect(c.jwt).toMatchObject({
      issuers: ['https://a', 'https://b'],
      audiences: ['motif'],
      algorithms: ['RS256', 'ES256'],
      clockSkewS: 60,
      tenantClaim: 'tenant',
      scopesClaim: 'scope',
    });
    expect(loadEdgeConfig({ ...BASE, MOTIF_JWT_JWKS_FILE: '/etc/jwks.json', MOTIF_JWT_ISSUER: 'i', MOTIF_JWT_AUDIENCE: 'a' }).jwt?.jwks).toEqual({
      file: '/etc/jwks.json',
    });
  });

  it('treats empty variables as unset and ignores foreign ones', () => {
    const c = loadEdgeConfig({ ...BASE, MOTIF_ADMIN_TOKEN: '', PATH: '/bin', MOTIF_EDGE_RPM: '0' });
    expect(c.adminToken).toBeUndefined();
    expect(c.limits.requestsPerMinute).toBe(0);
  });

  it('reads the limit defaults and the fail-open switch (fail closed unless set)', () => {
    expect(loadEdgeConfig(BASE).limitsFailOpen).toBe(false);
    const c = loadEdgeConfig({
      ...BASE,
      MOTIF_EDGE_MAX_CONCURRENT: '2',
      MOTIF_EDGE_MONTHLY_TOKENS: '1000000',
      MOTIF_EDGE_MAX_CONTEXT_TOKENS: '8192',
      MOTIF_LIMITS_FAIL_OPEN: '1',
    });
    expect(c.limits).toMatchObject({ maxConcurrent: 2, monthlyTokens: 1_000_000, maxContextTokens: 8192 });
    expect(c.limitsFailOpen).toBe(true);
  });

  it.each([
    { name: 'the example keyring', env: { MOTIF_ORIGIN_SECRET: 'k1:change-me-to-a-long-random-secret' }, variable: 'MOTIF_ORIGIN_SECRET' },
    { name: 'the dev keyring set explicitly', env: { MOTIF_ORIGIN_SECRET: DEV_ORIGIN_SECRET }, variable: 'MOTIF_ORIGIN_SECRET' },
    { name: 'the dev node keys', env: { MOTIF_NODE_KEYS: DEV_NODE_KEYS }, variable: 'MOTIF_NODE_KEYS' },
    { name: 'an admin token placeholder', env: { MOTIF_ADMIN_TOKEN: 'change-me-admin-token' }, variable: 'MOTIF_ADMIN_TOKEN' },
    { name: 'the stack dev API key', env: { MOTIF_DEV_API_KEY: 'sk-motif-dev-local-0123456789abcdef' }, variable: 'MOTIF_DEV_API_KEY' },
  ])('refuses $name outside MOTIF_DEV=1, naming the variable', ({ env, variable }) => {
    expect(() => loadEdgeConfig({ ...BASE, ...env })).toThrow(new RegExp(`${variable}: .*(placeholder|development default)`));
    expect(() => loadEdgeConfig({ ...BASE, ...env, MOTIF_DEV: '1' })).not.toThrow();
  });

  it('reads MOTIF_CORS_ORIGINS, and refuses a malformed one by name', () => {
    expect(loadEdgeConfig(BASE).corsOrigins).toBeUndefined();
    expect(loadEdgeConfig({ ...BASE, MOTIF_CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(loadEdgeConfig({ ...BASE, MOTIF_CORS_ORIGINS: 'https://a.example.com,http://localhost:5173' }).corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    expect(() => loadEdgeConfig({ ...BASE, MOTIF_CORS_ORIGINS: 'https://a.example.com/app' })).toThrow(/MOTIF_CORS_ORIGINS/);
  });

  it.each([
    { value: undefined, picker: undefined },
    { value: 'default', picker: 'max-score-picker' },
    { value: 'least-loaded', picker: 'least-load-picker' },
    { value: 'round-robin', picker: 'round-robin-picker' },
    { value: '{"filters":[{"type":"ready-filter"}],"picker":{"type":"least-load-picker"}}', picker: 'least-load-picker' },
  ])('MOTIF_ROUTING_PROFILE=$value selects the $picker', ({ value, picker }) => {
    expect(loadEdgeConfig({ ...BASE, MOTIF_ROUTING_PROFILE: value }).routingProfile?.picker.type).toBe(picker);
  });

  it.each([
    { value: 'fastest', why: /expected one of default, least-loaded, round-robin/ },
    { value: '{"filters":[],"picker":{"type":"coin-flip"}}', why: /picker\.type/ },
    {
      value: '{"filters":[{"type":"saturation-filter","params":{"maxKvUsage":2}}],"picker":{"type":"least-load-picker"}}',
      why: /filters\.0\.params\.maxKvUsage/,
    },
  ])('a bad MOTIF_ROUTING_PROFILE ($value) stops the edge, naming the variable and the place', ({ value, why }) => {
    expect(() => loadEdgeConfig({ ...BASE, MOTIF_ROUTING_PROFILE: value })).toThrow(/MOTIF_ROUTING_PROFILE: /);
    expect(() => loadEdgeConfig({ ...BASE, MOTIF_ROUTING_PROFILE: value })).toThrow(why);
  });
});
