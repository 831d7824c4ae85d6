import { describe, expect, it } from 'vitest';
import { DEV_ORIGIN_SECRET, loadEdgeConfig } from './config.ts';

const SECRET = 'k2:abcdefghijklmnopqrstuvwxyz,k1:0123456789abcdefghij';

describe('loadEdgeConfig', () => {
  it('applies defaults', () => {
    const c = loadEdgeConfig({ MOTIF_ORIGIN_SECRET: SECRET });
    expect(c).toMatchObject({ port: 4680, host: '127.0.0.1', dataDir: '.data/edge', limits: {} });
    expect(c.keyring.signing.kid).toBe('k2');
    expect([...c.keyring.ring.keys()]).toEqual(['k2', 'k1']);
    expect(c.devApiKey).toBeUndefined();
  });

  it('uses the dev secret only with MOTIF_DEV=1', () => {
    expect(() => loadEdgeConfig({})).toThrow(/MOTIF_ORIGIN_SECRET: required/);
    expect(loadEdgeConfig({ MOTIF_DEV: '1' }).keyring.signing.secret).toBe(DEV_ORIGIN_SECRET.split(':')[1]);
  });

  it.each([
    { env: { MOTIF_EDGE_PORT: 'eighty' }, names: 'MOTIF_EDGE_PORT' },
    { env: { MOTIF_EDGE_PORT: '70000' }, names: 'MOTIF_EDGE_PORT' },
    { env: { MOTIF_ORIGIN_SECRET: 'short' }, names: 'MOTIF_ORIGIN_SECRET' },
    { env: { MOTIF_DEV_API_KEY: 'sk-short' }, names: 'MOTIF_DEV_API_KEY' },
    { env: { MOTIF_DEV_API_KEY: 'sk motif with spaces 0123456789' }, names: 'MOTIF_DEV_API_KEY' },
    { env: { MOTIF_ADMIN_TOKEN: 'tiny' }, names: 'MOTIF_ADMIN_TOKEN' },
    { env: { MOTIF_EDGE_RPM: '-5' }, names: 'MOTIF_EDGE_RPM' },
    { env: { MOTIF_DEV: 'yes' }, names: 'MOTIF_DEV' },
  ])('names the bad variable: $names', ({ env, names }) => {
    expect(() => loadEdgeConfig({ MOTIF_ORIGIN_SECRET: SECRET, ...env })).toThrow(new RegExp(`${names}:`));
  });

  it('treats empty variables as unset and ignores foreign ones', () => {
    const c = loadEdgeConfig({ MOTIF_ORIGIN_SECRET: SECRET, MOTIF_ADMIN_TOKEN: '', PATH: '/bin', MOTIF_EDGE_RPM: '0' });
    expect(c.adminToken).toBeUndefined();
    expect(c.limits.requestsPerMinute).toBe(0);
  });
});
