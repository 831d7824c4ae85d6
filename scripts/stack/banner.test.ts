import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STAMP_FILE } from '../../tools/model-gen/generate-model.ts';
import { banner, generatedBy, parseServedRevision, type ServedModel } from './banner.ts';
import { loadStackConfig } from './config.ts';
import type { Stack } from './stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'motif-banner-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const files = [
  { path: 'config.json', size: 700 },
  { path: 'model.safetensors', size: 345_000 },
];

describe('served model', () => {
  it('reads the revision the origin reports from its metrics', () => {
    const metrics = '# HELP x\nmotif_origin_weights_revision{revision="29bf5e4758d77252"} 1\nmotif_origin_rollout_in_progress 0\n';
    expect(parseServedRevision(metrics)).toBe('29bf5e4758d77252');
    expect(parseServedRevision('')).toBeUndefined();
  });

  it('is the generated model only when a stamp under the data dir lists exactly the served files', async () => {
    expect(await generatedBy(dataDir, files)).toBeUndefined(); // no models dir at all
    mkdirSync(join(dataDir, 'models', 'motif-tiny'), { recursive: true });
    writeFileSync(join(dataDir, 'models', 'motif-tiny', STAMP_FILE), JSON.stringify({ key: { preset: 'tiny' }, files: [...files].reverse() }));
    expect(await generatedBy(dataDir, files)).toBe('tiny');
    expect(await generatedBy(dataDir, [files[0]!, { path: 'model.safetensors', size: 5_000_000_000 }])).toBeUndefined();
  });
});

describe('banner', () => {
  const cfg = loadStackConfig({ MOTIF_DATA_DIR: dataDir, MOTIF_ORIGIN_SECRET: 'dev:x' });
  const stack = {
    edgeUrl: 'http://127.0.0.1:4680',
    originUrl: 'http://127.0.0.1:4681',
    originMetricsToken: 'metrics-token-0123456789',
    apiKey: 'sk-test-0123456789abcdefghij',
    model: 'motif-tiny',
  } as Stack;

  it('names the generated tiny model as such', () => {
    const text = banner(stack, cfg, { id: 'motif-tiny', revision: 'abc123', source: 's3://b/models/motif-tiny @ stable', generatedPreset: 'tiny' });
    expect(text).toContain('model      motif-tiny (revision abc123)');
    expect(text).toContain('the generated tiny random-weight Motif');
  });

  it("names the origin's engine (native unless MOTIF_ENGINE says otherwise)", () => {
    const served = { id: 'motif-tiny', source: 's3://b/models/motif-tiny @ stable' };
    expect(banner(stack, cfg, served)).toContain('origin with the native engine');
    expect(banner(stack, cfg, { ...served, engine: 'vllm' })).toContain('origin with the vllm engine');
  });

  it('shows how to use the admin CLI against this edge with its admin token', () => {
    const text = banner(stack, cfg, { id: 'motif-tiny', source: 's3://b/models/motif-tiny @ stable' });
    expect(text).toContain(`MOTIF_ADMIN_URL=${stack.edgeUrl} MOTIF_ADMIN_TOKEN=${cfg.adminToken} npm run admin -- tenants list`);
    expect(cfg.adminToken).toMatch(/^admin-[0-9a-f]{48}$/);
  });

  it("shows how to read the origin's metrics (the token they need, or that they are public)", () => {
    const served: ServedModel = { id: 'motif-tiny', source: 's3://b/models/motif-tiny @ stable' };
    expect(banner(stack, cfg, served)).toContain('metrics    http://127.0.0.1:4681/metrics (Authorization: Bearer metrics-token-0123456789)');
    expect(banner({ ...stack, originMetricsToken: undefined }, cfg, served)).toContain('metrics    http://127.0.0.1:4681/metrics (public)');
  });

  it('names another served model and where its weights come from, without calling it random', () => {
    const served: ServedModel = { id: 'motif-2.6b', revision: 'def456', source: 's3://motif-weights/models/motif-2.6b @ stable' };
    const text = banner({ ...stack, model: 'motif-2.6b' }, cfg, served);
    expect(text).toContain('model      motif-2.6b (revision def456)');
    expect(text).toContain('weights from s3://motif-weights/models/motif-2.6b @ stable');
    expect(text).toContain('"model":"motif-2.6b"');
    expect(text).not.toMatch(/random|tiny/);
  });
});
