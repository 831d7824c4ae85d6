/**
 * BF16 weights (what the published Motif 2.6B checkpoint stores) on every kernel: the tiny-motif
 * fixture's weights rounded to BF16, prompts long enough that prefill takes the many-row GEMMs
 * (AMX on CPUs that have it, AVX-512 and AVX2 below it), each kernel's logits at every position
 * against the portable JS kernel's on the same weights, within the golden fixtures' tolerance.
 * The golden fixture itself is F32, which the AMX GEMM does not take.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeCheckpoint } from '../../adapters/node/engine/checkpoint-dir.ts';
import { testKernels } from '../../adapters/node/engine/test-kernels.ts';
import type { LayerWeights, MotifWeights } from './checkpoint/weights.ts';
import { loadMotifConfig, loadMotifWeights } from './checkpoint/weights.ts';
import { f32ArrayToBf16, type WeightMatrix } from './kernels/dtype.ts';
import { MotifModel } from './model.ts';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/tiny-motif/', import.meta.url));
// The golden fixtures' bound on |Δlogit| (model.test.ts).
const TOLERANCE = 1e-4;

function bf16(m: WeightMatrix): WeightMatrix {
  if (m.dtype !== 'F32') throw new TypeError(`expected F32 fixture weights, got ${m.dtype}`);
  return { dtype: 'BF16', data: f32ArrayToBf16(m.data), rows: m.rows, cols: m.cols };
}

function bf16Layer(l: LayerWeights): LayerWeights {
  const m = { q: l.q, k: l.k, v: l.v, o: l.o, gate: l.gate, up: l.up, down: l.down, qkv: l.qkv, gateUp: l.gateUp };
  return { ...l, ...Object.fromEntries(Object.entries(m).map(([k, w]) => [k, bf16(w)])) };
}

function bf16Weights(w: MotifWeights): MotifWeights {
  return { ...w, embed: bf16(w.embed), head: bf16(w.head), layers: w.layers.map(bf16Layer) };
}

// 40, 60, 64 and 100 tokens from a fixed linear congruence over the vocabulary: token tiles of 16
// rows, full and partial, the partial one alone (40, 100) and second of a pair (60).
const PROMPTS = [40, 60, 64, 100].map((n, p) => Array.from({ length: n }, (_, i) => (p * 7919 + i * 104_729 + 13) % 381));

async function allLogits(model: MotifModel): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const ids of PROMPTS) out.push(...(await model.forwardDebug(model.createCache(model.config.max_position_embeddings), ids)).logits);
  return out;
}

const kernels = testKernels();
const js = kernels.find((k) => k.name === 'js')!;
const natives = kernels.filter((k) => k.name !== 'js');

describe.runIf(natives.length > 0)('BF16 weights, long prompts', () => {
  let weights: MotifWeights;
  let config: Awaited<ReturnType<typeof loadMotifConfig>>;
  let reference: Float32Array[];
  beforeAll(async () => {
    const src = nodeCheckpoint(FIXTURE);
    config = await loadMotifConfig(src);
    weights = bf16Weights(await loadMotifWeights(src, config));
    reference = await allLogits(MotifModel.fromWeights(config, weights, { kernel: js.kernel }));
  });

  it.each(natives)('the $name kernel matches the JS kernel', async ({ kernel }) => {
    const logits = await allLogits(MotifModel.fromWeights(config, weights, { kernel }));
    expect(logits).toHaveLength(reference.length);
    let worst = 0;
    logits.forEach((row, p) => {
      for (let i = 0; i < row.length; i++) worst = Math.max(worst, Math.abs(row[i]! - reference[p]![i]!));
    });
    console.log(`tiny-motif BF16, ${kernel.name}: max |Δlogit| ${worst.toExponential(2)} over ${logits.length} positions`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});
