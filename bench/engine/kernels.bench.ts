/**
 * `npm run bench:kernels [-- --rows=1,4,16 --shapes=2048x2048,8192x2048,2048x8192 --skip-plain --runs=5]`
 *
 * BF16 matmul y = x·Wᵀ for the Motif 2.6B projection shapes: (a) a plain TS loop, (b) the
 * engine's portable JS kernel, (c) the native addon on one thread and on all threads. Medians,
 * side by side, plus the fraction of the measured memory roofline reached at rows = 1 and the
 * batch-16 / batch-1 throughput ratio.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadKernelsAddon, type MatmulFn } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { createPlainMatmul } from '../../origin/src/adapters/node/engine/kernels-addon/plain-matmul.ts';
import { weightMatrix } from '../../origin/src/engine/native/kernels/dtype.ts';
import { createJsKernel } from '../../origin/src/engine/native/kernels/matmul.ts';
import { decodeTokensPerSecond, formatRoofline, measureRoofline } from '../roofline/measure.ts';
import { type BenchImpl, formatKernelTable, type KernelBenchRow, runKernelBench } from './kernel-bench.ts';

const Args = z.object({
  rows: z
    .string()
    .default('1,4,16')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(512)).min(1)),
  shapes: z
    .string()
    .default('2048x2048,8192x2048,2048x8192')
    .transform((s) => s.split(',').map((p) => p.split('x').map(Number)))
    .pipe(z.array(z.tuple([z.number().int().min(1), z.number().int().min(1)])).min(1)),
  'skip-plain': z.boolean().default(false),
  runs: z.coerce.number().int().min(1).max(50).default(5),
});

const { values } = parseArgs({
  options: { rows: { type: 'string' }, shapes: { type: 'string' }, 'skip-plain': { type: 'boolean' }, runs: { type: 'string' } },
});
const parsed = Args.safeParse(values);
if (!parsed.success) {
  console.error(`bench:kernels: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const args = parsed.data;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`load average at start: ${load()} (2-core machine shared with others: read medians, not single runs)`);

const slow = { warmup: 1, minSamples: 3, maxSamples: 5, budgetMs: 1500 };
const fast = { warmup: 5, minSamples: 15, maxSamples: 300, budgetMs: 1500 };
const impls: BenchImpl[] = [];
if (!args['skip-plain']) impls.push({ name: 'plain TS loop', matmul: createPlainMatmul(), sampling: slow });
const js = createJsKernel();
const jsMatmul: MatmulFn = (y, x, w, dtype, rows, inDim, outDim) => js.matmul(y, x, rows, weightMatrix(dtype, w, outDim, inDim));
impls.push({ name: 'engine JS kernel', matmul: jsMatmul, sampling: slow });

const addon = loadKernelsAddon({}, (m) => console.log(m));
const addon1 = loadKernelsAddon({ maxThreads: 1 }, () => {});
if (addon && addon1) {
  console.log(`kernels addon: ${addon.info.simd}, pool of ${addon.info.threads} threads (${addon.info.arch})`);
  impls.push({ name: 'addon 1 thread', matmul: addon1.matmul, sampling: fast });
  impls.push({ name: `addon ${addon.info.threads} threads`, matmul: addon.matmul, sampling: fast });
}

const roofline = addon ? await measureRoofline(addon, { runs: args.runs }) : undefined;
if (roofline) for (const line of formatRoofline(roofline)) console.log(line);

const results = runKernelBench({ shapes: args.shapes, rows: args.rows }, impls, (m) => process.stderr.write(`  ${m}\r`));
process.stderr.write('\n');
console.log('\nBF16 matmul, median per call (×N = speed-up over the first column):');
for (const line of formatKernelTable(results, impls[0]!.name)) console.log(line);

if (addon && roofline) {
  const find = (impl: string, [o, i]: [number, number], rows: number): KernelBenchRow | undefined =>
    results.find((r) => r.impl === impl && r.outDim === o && r.inDim === i && r.rows === rows);
  const all = `addon ${addon.info.threads} threads`;
  console.log('\nroofline at rows = 1 (weight bytes streamed per second / measured read bandwidth):');
  for (const shape of args.shapes) {
    const a = find(all, shape, 1);
    const one = find('addon 1 thread', shape, 1);
    if (a && one) {
      console.log(
        `  ${shape.join('x').padEnd(10)} all threads ${((100 * a.weightGbPerS) / roofline.allCores.gbPerS).toFixed(0)}% of ${roofline.allCores.gbPerS.toFixed(1)} GB/s` +
          ` (≈ ${decodeTokensPerSecond(a.weightGbPerS).toFixed(1)} tok/s for Motif 2.6B BF16 if every layer ran like this);` +
          ` 1 thread ${((100 * one.weightGbPerS) / roofline.oneCore.gbPerS).toFixed(0)}% of ${roofline.oneCore.gbPerS.toFixed(1)} GB/s`,
      );
    }
  }
  const maxRows = Math.max(...args.rows);
  if (maxRows > 1 && args.rows.includes(1)) {
    console.log(`\nbatch ${maxRows} vs batch 1, aggregate rows per second (addon, all threads):`);
    for (const shape of args.shapes) {
      const a1 = find(all, shape, 1);
      const an = find(all, shape, maxRows);
      if (a1 && an) console.log(`  ${shape.join('x').padEnd(10)} ×${(maxRows / an.medianMs / (1 / a1.medianMs)).toFixed(1)}`);
    }
  }
}
console.log(`\nload average at end: ${load()}`);
