import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadStackConfig, stackPorts } from './config.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'motif-stack-config-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('lists every port the stack listens on, by variable (the embedded S3 only when it runs)', () => {
  const cfg = loadStackConfig({ MOTIF_DATA_DIR: dataDir });
  expect(stackPorts(cfg)).toEqual([
    { name: 'MOTIF_EDGE_PORT', port: 4680 },
    { name: 'MOTIF_ORIGIN_PORT', port: 4681 },
    { name: 'MOTIF_S3_PORT', port: 4690 },
  ]);
  const external = loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_S3_ENDPOINT: 'http://s3.example:9000' });
  expect(stackPorts(external).map((p) => p.name)).toEqual(['MOTIF_EDGE_PORT', 'MOTIF_ORIGIN_PORT']);
});

it('refuses one port for two variables, naming both', () => {
  expect(() => loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_S3_PORT: '4680' })).toThrow(
    'MOTIF_S3_PORT is 4680, the same as MOTIF_EDGE_PORT — set MOTIF_S3_PORT=… to another port',
  );
});

it('refuses port 0: the processes find each other by these numbers', () => {
  expect(() => loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_EDGE_PORT: '0' })).toThrow(/MOTIF_EDGE_PORT/);
});

it("gives the origin's /metrics a token: the one configured, else a random one per run; none when public", () => {
  const a = loadStackConfig({ MOTIF_DATA_DIR: dataDir });
  const b = loadStackConfig({ MOTIF_DATA_DIR: dataDir });
  expect(a.originMetricsToken).toMatch(/^metrics-[0-9a-f]{32}$/);
  expect(b.originMetricsToken).not.toBe(a.originMetricsToken);
  const given = 'scrape-token-0123456789';
  expect(loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_ORIGIN_METRICS_TOKEN: given }).originMetricsToken).toBe(given);
  expect(loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_ORIGIN_METRICS_PUBLIC: '1' }).originMetricsToken).toBeUndefined();
});

it("keeps the edge's key pepper and admin token under the data dir (restarts agree) unless configured", () => {
  const a = loadStackConfig({ MOTIF_DATA_DIR: dataDir });
  const b = loadStackConfig({ MOTIF_DATA_DIR: dataDir });
  expect(a.keyPepper).toMatch(/^[0-9a-f]{48}$/);
  expect(b.keyPepper).toBe(a.keyPepper);
  expect(b.adminToken).toBe(a.adminToken);
  const given = { MOTIF_KEY_PEPPER: 'given-pepper-0123456789abcdefghijkl', MOTIF_ADMIN_TOKEN: 'given-admin-token-0123' };
  expect(loadStackConfig({ MOTIF_DATA_DIR: dataDir, ...given })).toMatchObject({ keyPepper: given.MOTIF_KEY_PEPPER, adminToken: given.MOTIF_ADMIN_TOKEN });
  expect(() => loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_KEY_PEPPER: 'short' })).toThrow(/MOTIF_KEY_PEPPER/);
});
