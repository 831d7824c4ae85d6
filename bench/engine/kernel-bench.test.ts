import { describe, expect, it } from 'vitest';
import type { MatmulFn } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { createPlainMatmul } from '../../origin/src/adapters/node/engine/kernels-addon/plain-matmul.ts';
import { type BenchImpl, formatKernelTable, runKernelBench } from './kernel-bench.ts';
import { sample } from './timing.ts';

const quick = { warmup: 0, minSamples: 2, maxSamples: 3, budgetMs: 0 };

describe('sample', () => {
  it('takes between minSamples and maxSamples timed calls after the warm-up', () => {
    const calls: number[] = [];
    const s = sample((i) => calls.push(i), { warmup: 2, minSamples: 3, maxSamples: 4, budgetMs: 0 });
    expect(calls).toEqual([0, 1, 2, 3, 4]);
    expect(s.samplesMs).toHaveLength(3);
    expect(s.medianMs).toBeGreaterThanOrEqual(0);
  });

  it('rejects impossible sample bounds', () => {
    expect(() => sample(() => {}, { ...quick, minSamples: 0 })).toThrow(RangeError);
    expect(() => sample(() => {}, { ...quick, minSamples: 4, maxSamples: 3 })).toThrow(RangeError);
  });
});

describe('runKernelBench', () => {
  const plain: BenchImpl = { name: 'plain', matmul: createPlainMatmul(), sampling: quick };

  it('times every implementation on every shape and rows, with derived rates', () => {
    const results = runKernelBench({ shapes: [[24, 40]], rows: [1, 3], weightSetBytes: 4096 }, [plain, { ...plain, name: 'again' }]);
    expect(results.map((r) => `${r.impl} ${r.outDim}x${r.inDim} ${r.rows}`)).toEqual(['plain 24x40 1', 'again 24x40 1', 'plain 24x40 3', 'again 24x40 3']);
    for (const r of results) {
      expect(r.gflops).toBeCloseTo((2 * r.rows * 40 * 24) / (r.medianMs / 1e3) / 1e9, 6);
      expect(r.weightGbPerS).toBeCloseTo((24 * 40 * 2) / (r.medianMs / 1e3) / 1e9, 6);
    }
    const table = formatKernelTable(results, 'plain');
    expect(table).toHaveLength(3);
    expect(table[1]).toMatch(/^24x40 rows=1 .* ms .* GF\/s .* GB\/s .*×/);
  });

  it('refuses to time an implementation that computes the wrong answer', () => {
    // The classic tail bug: the last element of K is never multiplied in.
    const plainLoop = createPlainMatmul();
    const wrong: MatmulFn = (y, x, w, dtype, rows, inDim, outDim) => {
      const xs = new Float32Array(x.subarray(0, rows * inDim));
      for (let r = 0; r < rows; r++) xs[r * inDim + inDim - 1] = 0;
      plainLoop(y, xs, w, dtype, rows, inDim, outDim);
    };
    expect(() => runKernelBench({ shapes: [[8, 16]], rows: [2], weightSetBytes: 4096 }, [plain, { ...plain, name: 'wrong', matmul: wrong }])).toThrow(
      /wrong is wrong at 8x16 rows=2/,
    );
  });
});
