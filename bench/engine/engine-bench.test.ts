import { beforeAll, describe, expect, it } from 'vitest';
import { loadTinyMotif } from '../../origin/src/adapters/node/engine/test-checkpoint.ts';
import type { MotifWeights } from '../../origin/src/engine/native/checkpoint/weights.ts';
import { createJsKernel } from '../../origin/src/engine/native/kernels/matmul.ts';
import { type MotifConfig, MotifModel } from '../../origin/src/engine/native/model.ts';
import {
  cloneCache,
  formatTable,
  lagProbe,
  rooflineLine,
  rooflinePercent,
  syncOnly,
  timeDecode,
  timeInterleaved,
  timingKernel,
  weightBytesPerToken,
} from './engine-bench.ts';

let config: MotifConfig;
let weights: MotifWeights;
beforeAll(async () => {
  ({ config, weights } = await loadTinyMotif());
});

describe('engine bench helpers', () => {
  it('counts the bytes a decode step streams: every layer matrix once plus the tied head', () => {
    // tiny-motif, F32: per layer qkv 3·64·64 + o 64·64 + gate/up 2·128·64 + down 64·128; head 384·64.
    const perLayer = 3 * 64 * 64 + 64 * 64 + 2 * 128 * 64 + 64 * 128;
    expect(weightBytesPerToken(weights)).toBe((3 * perLayer + 384 * 64) * 4);
  });

  it('clones a cache so decoding from the copy gives exactly the logits of the original', async () => {
    const model = MotifModel.fromWeights(config, weights);
    const base = model.createCache(32);
    await model.forward([{ cache: base, ids: [5, 17, 99, 3, 42, 7, 250, 11, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9] }]);
    const copy = cloneCache(model, base, 32);
    expect(copy.length).toBe(base.length);
    const [a] = await model.forward([{ cache: copy, ids: [33] }]);
    const [b] = await model.forward([{ cache: base, ids: [33] }]);
    expect([...a!]).toEqual([...b!]);
  });

  it('times decode steps and times matmuls by call site', async () => {
    const { kernel, clock } = timingKernel(createJsKernel(), weights.head);
    expect(syncOnly(kernel).matmulAsync).toBeUndefined();
    const model = MotifModel.fromWeights(config, weights, { kernel });
    const caches = [model.createCache(16), model.createCache(16)];
    const t = await timeDecode(model, caches, 1, 3);
    expect(t.samplesMs).toHaveLength(3);
    expect(caches.map((c) => c.length)).toEqual([4, 4]);
    // 4 matmuls per layer (fused q/k/v and gate/up) + the head, per step.
    expect(clock.calls).toBe(4 * (4 * config.num_hidden_layers + 1));
    expect(clock.headMs).toBeGreaterThan(0);
  });

  it('interleaves variants step by step and reports each one', async () => {
    const variants = ['a', 'b'].map((name) => {
      const model = MotifModel.fromWeights(config, weights, name === 'a' ? {} : { sliceMs: 0 });
      return { name, model, cache: model.createCache(16) };
    });
    const t = await timeInterleaved(variants, 1, 2);
    expect([...t.keys()]).toEqual(['a', 'b']);
    for (const v of t.values()) expect(v.samplesMs).toHaveLength(2);
    expect(variants.map((v) => v.cache.length)).toEqual([3, 3]);
  });

  it('measures how long the event loop went without a turn', async () => {
    const probe = lagProbe();
    await new Promise((r) => setTimeout(r, 5));
    const t = performance.now();
    while (performance.now() - t < 40); // hold the JS thread for 40 ms
    expect(await probe.stop()).toBeGreaterThanOrEqual(40);
  });

  it('states the roofline fraction and the required last line', () => {
    // 32.6 GB/s over 5.19 GB per token = 6.28 tok/s; 5.24 tok/s is 83% of it.
    expect(rooflinePercent(5.24, 32.6, 5.19e9)).toBeCloseTo(83.4, 1);
    expect(rooflineLine(83.4)).toBe('roofline: batch-1 decode at 83% of the measured memory-bandwidth roofline');
    expect(
      formatTable([
        ['a', '1'],
        ['long label', '2'],
      ]),
    ).toEqual(['a           1', 'long label  2']);
  });
});
