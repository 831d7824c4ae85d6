import { describe, expect, it } from 'vitest';
import { loadTinyMotif } from '../../origin/src/adapters/node/engine/test-checkpoint.ts';
import { createJsKernel } from '../../origin/src/engine/native/kernels/matmul.ts';
import { MotifModel } from '../../origin/src/engine/native/model.ts';
import { compareQuant, fixedPrompts } from './quant-bench.ts';

describe('bench:engine --quant=q8', () => {
  it('makes prompts of fixed ids inside the vocabulary', () => {
    const p = fixedPrompts(384, 3, 5);
    expect(p).toHaveLength(3);
    expect(p.flat().every((id) => Number.isInteger(id) && id >= 0 && id < 384)).toBe(true);
    expect(fixedPrompts(384, 3, 5)).toEqual(p);
  });

  it('reports decode speed of every variant against the stored precision, and the distances', async () => {
    const { config, weights } = await loadTinyMotif();
    const kernel = createJsKernel();
    const model = MotifModel.fromWeights(config, weights, { kernel });
    const base = model.createCache(32);
    await model.forward([{ cache: base, ids: [1, 2, 3] }]);
    const rows = await compareQuant({ config, weights, kernel, base, capacity: 32, steps: 2, prompts: fixedPrompts(config.vocab_size, 2, 4) });
    const labels = rows.map(([label]) => label);
    expect(labels).toEqual([
      'quant: Q8_0 at load (JS)', // the JS kernel has no quantizeQ8 of its own
      'quant: decode batch 1, stored precision',
      'quant: decode batch 1, q8 (served: layers + head)',
      'quant: decode batch 1, q8, linear layers only',
      'quant: distance, q8 (served: layers + head) vs stored',
      'quant: distance, q8, linear layers only vs stored',
    ]);
    expect(rows[1]![1]).toMatch(/tok\/s \(×1\.00\)/);
    expect(rows[4]![1]).toMatch(/top-1 agreement [\d.]+% of 8 positions/);
  });
});
