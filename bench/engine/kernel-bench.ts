/**
 * The kernel benchmark: y = x·Wᵀ with BF16 weights for the Motif 2.6B projection shapes, timed
 * per implementation, as GFLOP/s and as effective GB/s of weight reads. Each call uses the next
 * of several copies of W whose total dwarfs the last-level cache, so a batch-1 call really
 * streams its weights from DRAM as decode does (2.6e9 distinct weights per token).
 */
import type { MatmulFn } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { firstMismatch, randomX, rng } from '../../origin/src/adapters/node/engine/kernels-addon/test-data.ts';
import { type SampleOptions, sample } from './timing.ts';

export interface BenchImpl {
  name: string;
  matmul: MatmulFn;
  /** Sampling for this implementation (slow baselines get fewer samples). */
  sampling: SampleOptions;
}

export interface KernelBenchOptions {
  /** [outDim, inDim] pairs (W is out×in). */
  shapes: [number, number][];
  rows: number[];
  /** Bytes of distinct weight copies cycled through per shape (default 256 MiB). */
  weightSetBytes?: number;
}

export interface KernelBenchRow {
  impl: string;
  outDim: number;
  inDim: number;
  rows: number;
  medianMs: number;
  samples: number;
  gflops: number;
  /** Weight bytes per call / time: the figure to hold against the memory roofline. */
  weightGbPerS: number;
}

/** BF16 weights of the size trained projections have (|w| ≲ 0.05): no denormals, no overflow. */
function llmLikeBf16(rand: () => number, n: number): Uint16Array {
  const f = randomX(rand, n).map((v) => v * 0.05);
  // Truncation to the top 16 bits is a valid BF16 value; rounding does not matter for timing.
  return new Uint16Array(new Uint32Array(f.buffer).map((u) => u >>> 16));
}

/**
 * Runs every implementation on every shape × rows, first checking each one's output against the
 * plain loop (a fast wrong kernel must not produce a benchmark number).
 */
export function runKernelBench(opts: KernelBenchOptions, impls: BenchImpl[], progress: (msg: string) => void = () => {}): KernelBenchRow[] {
  const out: KernelBenchRow[] = [];
  for (const [outDim, inDim] of opts.shapes) {
    const rand = rng(outDim * 31 + inDim);
    const base = llmLikeBf16(rand, outDim * inDim);
    const copies = Math.max(1, Math.ceil((opts.weightSetBytes ?? 256 * 2 ** 20) / base.byteLength));
    const weights = [base, ...Array.from({ length: copies - 1 }, () => base.slice())];
    for (const rows of opts.rows) {
      const x = randomX(rand, rows * inDim);
      const y = new Float32Array(rows * outDim);
      // Check on a small slice of the outputs (the plain loop is slow), through the real call.
      const checkOut = Math.min(outDim, 64);
      const w0 = base.subarray(0, checkOut * inDim);
      for (const impl of impls) {
        const yc = new Float32Array(rows * checkOut);
        impl.matmul(yc, x, w0, 'BF16', rows, inDim, checkOut);
        const bad = firstMismatch(yc, x, w0, 'BF16', rows, inDim, checkOut);
        if (bad) throw new Error(`${impl.name} is wrong at ${outDim}x${inDim} rows=${rows}: ${JSON.stringify(bad)}`);
      }
      for (const impl of impls) {
        progress(`${impl.name} ${outDim}x${inDim} rows=${rows}`);
        const s = sample((i) => impl.matmul(y, x, weights[i % weights.length]!, 'BF16', rows, inDim, outDim), impl.sampling);
        const seconds = s.medianMs / 1e3;
        out.push({
          impl: impl.name,
          outDim,
          inDim,
          rows,
          medianMs: s.medianMs,
          samples: s.samplesMs.length,
          gflops: (2 * rows * inDim * outDim) / seconds / 1e9,
          weightGbPerS: (outDim * inDim * 2) / seconds / 1e9,
        });
      }
    }
  }
  return out;
}

/** The results as a table: one line per shape × rows, implementations side by side. */
export function formatKernelTable(results: KernelBenchRow[], baseline: string): string[] {
  const impls = [...new Set(results.map((r) => r.impl))];
  const keys = [...new Set(results.map((r) => `${r.outDim}x${r.inDim} rows=${r.rows}`))];
  const cell = (r: KernelBenchRow | undefined, base: KernelBenchRow | undefined) =>
    r
      ? `${r.medianMs.toFixed(2).padStart(8)} ms ${r.gflops.toFixed(1).padStart(6)} GF/s ${r.weightGbPerS.toFixed(1).padStart(6)} GB/s` +
        (base && r !== base ? ` ×${(base.medianMs / r.medianMs).toFixed(0).padStart(4)}` : '      ')
      : '';
  const lines = [`${'W (out x in), rows'.padEnd(24)}${impls.map((i) => i.padEnd(47)).join('')}`];
  for (const key of keys) {
    const of = (impl: string) => results.find((r) => `${r.outDim}x${r.inDim} rows=${r.rows}` === key && r.impl === impl);
    lines.push(`${key.padEnd(24)}${impls.map((i) => cell(of(i), of(baseline)).padEnd(47)).join('')}`);
  }
  return lines;
}
