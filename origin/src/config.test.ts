import { describe, expect, it } from 'vitest';
import { ConfigError, loadOriginConfig } from './config.ts';

const base = { MOTIF_ORIGIN_SECRET: 'k1:0123456789abcdef0123', MOTIF_ORIGIN_MODEL_DIR: 'models/tiny' };
const load = (env: Record<string, string | undefined>) => loadOriginConfig(env, { hostname: 'box.local' });

describe('loadOriginConfig', () => {
  it('applies the documented defaults', () => {
    const c = load(base);
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 4681,
      publicUrl: undefined,
      nodeId: 'box.local',
      replicaId: 'box.local-4681',
      edgeUrl: undefined,
      modelId: 'motif-2.6b',
      engine: 'native',
      kernels: 'auto',
      weights: { kind: 'dir', dir: 'models/tiny' },
      dataDir: '.data/origin',
      limits: { maxRunning: 8, maxQueue: 64, kvBudgetTokens: undefined },
      heartbeatMs: 1000,
    });
    expect(c.keyring).toEqual(new Map([['k1', '0123456789abcdef0123']]));
    expect(c.nodeKey).toBeUndefined();
  });

  it('signs heartbeats and usage with its own node key, never with the edge keyring', () => {
    const withEdge = { ...base, MOTIF_EDGE_URL: 'http://edge:4680', MOTIF_NODE_ID: 'gpu1', MOTIF_REPLICA_ID: 'gpu1-gcd0' };
    expect(load({ ...withEdge, MOTIF_NODE_KEY: 'gpu1-2026:node-secret-0123456789' }).nodeKey).toEqual({ kid: 'gpu1-2026', secret: 'node-secret-0123456789' });
    expect(() => load(withEdge)).toThrow(/MOTIF_NODE_KEY: required with MOTIF_EDGE_URL/);
    expect(() => load({ ...withEdge, MOTIF_NODE_KEY: base.MOTIF_ORIGIN_SECRET })).toThrow(/MOTIF_NODE_KEY: must differ/);
    expect(() => load({ ...withEdge, MOTIF_NODE_KEY: 'a:node-secret-0123456789,b:node-secret-9876543210' })).toThrow(/MOTIF_NODE_KEY: one key/);
    // The edge binds a node key to `<node>` and `<node>-…` replicas: a mismatch fails here, at start.
    expect(() => load({ ...withEdge, MOTIF_NODE_KEY: 'n:node-secret-0123456789', MOTIF_REPLICA_ID: 'gpu2-gcd0' })).toThrow(
      /MOTIF_REPLICA_ID: gpu2-gcd0 must be gpu1/,
    );
  });

  it('reads S3 weights settings when no model dir is given', () => {
    const c = load({
      MOTIF_ORIGIN_SECRET: base.MOTIF_ORIGIN_SECRET,
      MOTIF_S3_ENDPOINT: 'http://127.0.0.1:4690',
      MOTIF_S3_FORCE_PATH_STYLE: 'true',
      MOTIF_ORIGIN_DATA_DIR: '/srv/o',
      MOTIF_WEIGHTS_REF: 'canary',
    });
    expect(c.weights).toMatchObject({
      kind: 's3',
      ref: 'canary',
      storeDir: '/srv/o/weights',
      s3: { endpoint: 'http://127.0.0.1:4690', bucket: 'motif-weights', forcePathStyle: true },
    });
  });

  it.each([
    ['MOTIF_ORIGIN_SECRET', { MOTIF_ORIGIN_SECRET: undefined }],
    ['MOTIF_ORIGIN_SECRET', { MOTIF_ORIGIN_SECRET: 'k1:short' }],
    ['MOTIF_ORIGIN_PORT', { MOTIF_ORIGIN_PORT: 'eighty' }],
    ['MOTIF_ORIGIN_PORT', { MOTIF_ORIGIN_PORT: '70000' }],
    ['MOTIF_ENGINE', { MOTIF_ENGINE: 'magic' }],
    ['MOTIF_KERNELS', { MOTIF_KERNELS: 'gpu' }],
    ['MOTIF_WEIGHTS_QUANT', { MOTIF_WEIGHTS_QUANT: 'q4' }],
    ['MOTIF_WEIGHTS_QUANT', { MOTIF_WEIGHTS_QUANT: 'Q8' }],
    ['MOTIF_SIM', { MOTIF_ENGINE: 'sim', MOTIF_SIM: '{speed: 10}' }],
    ['MOTIF_SIM', { MOTIF_ENGINE: 'sim', MOTIF_SIM: '[1]' }],
    ['MOTIF_SIM', { MOTIF_ENGINE: 'sim', MOTIF_SIM: '{"errorRate": 2}' }],
    ['MOTIF_SIM', { MOTIF_ENGINE: 'sim', MOTIF_SIM: '{"sped": 10}' }],
    ['MOTIF_VLLM_GPU', { MOTIF_ENGINE: 'vllm', MOTIF_VLLM_GPU: 'gcd0' }],
    ['MOTIF_EDGE_URL', { MOTIF_EDGE_URL: 'ftp://edge' }],
    ['MOTIF_MAX_RUNNING', { MOTIF_MAX_RUNNING: '0' }],
    ['MOTIF_MAX_QUEUE', { MOTIF_MAX_QUEUE: '-1' }],
    ['MOTIF_REPLICA_ID', { MOTIF_REPLICA_ID: 'has space' }],
    ['MOTIF_S3_ENDPOINT', { MOTIF_ORIGIN_MODEL_DIR: undefined, MOTIF_S3_ENDPOINT: 'not a url' }],
    ['MOTIF_WEIGHTS_POLL_MS', { MOTIF_WEIGHTS_POLL_MS: '50' }],
    ['MOTIF_WEIGHTS_POLL_MS', { MOTIF_WEIGHTS_POLL_MS: 'soon' }],
    ['MOTIF_SWAP_STRATEGY', { MOTIF_SWAP_STRATEGY: 'yolo' }],
    ['MOTIF_SWAP_DRAIN_TIMEOUT_MS', { MOTIF_SWAP_DRAIN_TIMEOUT_MS: '-5' }],
    ['MOTIF_WEIGHTS_GC', { MOTIF_WEIGHTS_GC: 'yes' }],
    ['MOTIF_ORIGIN_METRICS_TOKEN', { MOTIF_ORIGIN_METRICS_TOKEN: 'short' }],
    ['MOTIF_ORIGIN_METRICS_PUBLIC', { MOTIF_ORIGIN_METRICS_PUBLIC: 'yes' }],
    ['MOTIF_ORIGIN_METRICS_PUBLIC', { MOTIF_ORIGIN_METRICS_PUBLIC: '1', MOTIF_ORIGIN_METRICS_TOKEN: 'scrape-token-0123456789' }],
  ])('names %s when it is bad', (name, change) => {
    expect(() => load({ ...base, ...change })).toThrow(ConfigError);
    expect(() => load({ ...base, ...change })).toThrow(name);
  });

  it.each([
    { name: 'closed by default', env: {}, access: undefined },
    { name: 'a token', env: { MOTIF_ORIGIN_METRICS_TOKEN: 'scrape-token-0123456789' }, access: { token: 'scrape-token-0123456789' } },
    { name: 'public by opt-in', env: { MOTIF_ORIGIN_METRICS_PUBLIC: '1' }, access: 'public' },
  ])('/metrics access: $name', ({ env, access }) => {
    expect(load({ ...base, ...env }).metricsAccess).toEqual(access);
  });

  it("ignores MOTIF_MODEL_DIR (npm start's publish-then-serve dir, which the stack's origin inherits)", () => {
    const c = load({ MOTIF_ORIGIN_SECRET: base.MOTIF_ORIGIN_SECRET, MOTIF_MODEL_DIR: '/models/Motif-2.6B', MOTIF_S3_ENDPOINT: 'http://127.0.0.1:4690' });
    expect(c.weights).toMatchObject({ kind: 's3', storeDir: '.data/origin/weights' });
  });

  it('reads the native kernel choice', () => {
    expect(load({ ...base, MOTIF_KERNELS: 'js' }).kernels).toBe('js');
    expect(load({ ...base, MOTIF_KERNELS: 'native' }).kernels).toBe('native');
  });

  it('keeps the stored weight precision unless MOTIF_WEIGHTS_QUANT asks for q8', () => {
    expect(load(base).weightsQuant).toBe('none');
    expect(load({ ...base, MOTIF_WEIGHTS_QUANT: 'q8' }).weightsQuant).toBe('q8');
  });

  it('reads the simulator tuning as given (the engine applies its defaults)', () => {
    expect(load(base).sim).toEqual({});
    const c = load({ ...base, MOTIF_ENGINE: 'sim', MOTIF_SIM: '{"speed":10,"errorRate":0.1}' });
    expect(c).toMatchObject({ engine: 'sim', sim: { speed: 10, errorRate: 0.1 } });
    expect(() => load({ ...base, MOTIF_SIM: '{"errorRate":2}' })).toThrow(/MOTIF_SIM: errorRate: .*1/);
  });

  it('reads the vllm executable, recipe and GPU, with vllm on PATH by default', () => {
    expect(load(base).vllm).toEqual({ bin: 'vllm', recipeFile: undefined, gpu: undefined });
    const c = load({ ...base, MOTIF_ENGINE: 'vllm', MOTIF_VLLM_BIN: '/opt/vllm/bin/vllm', MOTIF_VLLM_RECIPE: 'recipe.json', MOTIF_VLLM_GPU: '1' });
    expect(c).toMatchObject({ engine: 'vllm', vllm: { bin: '/opt/vllm/bin/vllm', recipeFile: 'recipe.json', gpu: '1' } });
  });

  it('treats empty variables as unset', () => {
    expect(load({ ...base, MOTIF_EDGE_URL: '', MOTIF_ORIGIN_PORT: '' }).port).toBe(4681);
  });

  it('rolling updates: poll every 30 s, auto strategy, 5 min swap drain, gc on by default; 0 turns polling off', () => {
    expect(load(base).rollout).toEqual({ pollMs: 30_000, strategy: 'auto', drainTimeoutMs: 300_000, gcAfterSwap: true });
    const c = load({ ...base, MOTIF_WEIGHTS_POLL_MS: '0', MOTIF_SWAP_STRATEGY: 'drain-first', MOTIF_SWAP_DRAIN_TIMEOUT_MS: '1000', MOTIF_WEIGHTS_GC: 'false' });
    expect(c.rollout).toEqual({ pollMs: 0, strategy: 'drain-first', drainTimeoutMs: 1000, gcAfterSwap: false });
  });

  it.each([
    { name: 'the example keyring', env: { MOTIF_ORIGIN_SECRET: 'k1:change-me-to-a-long-random-secret' }, variable: 'MOTIF_ORIGIN_SECRET' },
    {
      name: 'the example node key',
      env: { MOTIF_EDGE_URL: 'http://edge:4680', MOTIF_NODE_ID: 'n', MOTIF_NODE_KEY: 'node-a-1:change-me-to-another-long-secret' },
      variable: 'MOTIF_NODE_KEY',
    },
    { name: 'a metrics token placeholder', env: { MOTIF_ORIGIN_METRICS_TOKEN: 'change-me-metrics-token' }, variable: 'MOTIF_ORIGIN_METRICS_TOKEN' },
    { name: 'the example S3 secret', env: { AWS_SECRET_ACCESS_KEY: 'change-me' }, variable: 'AWS_SECRET_ACCESS_KEY' },
  ])('refuses $name outside MOTIF_DEV=1, naming the variable', ({ env, variable }) => {
    expect(() => load({ ...base, ...env })).toThrow(ConfigError);
    expect(() => load({ ...base, ...env })).toThrow(new RegExp(`${variable}: contains the placeholder`));
    expect(() => load({ ...base, ...env, MOTIF_DEV: '1' })).not.toThrow();
  });
});
