import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import type { LayerKv } from '../../../../engine/native/batching/kv-cache.ts';
import { type AttentionParams, AttentionScratch, attendSegment } from '../../../../engine/native/forward/attention.ts';
import type { AttentionCall } from '../../../../engine/native/kernels/attention-call.ts';
import { loadKernelsAddon } from './kernels-addon.ts';
import { randomX, rng } from './test-data.ts';

// The native attention against the JavaScript reference (forward/attention.ts) on random caches:
// block boundaries, segments that start mid-cache, odd head sizes (scalar tails), every SIMD path
// (the AVX2 code serves AVX-512 CPUs too; `avx2` caps them, as an AVX2-only CPU would run).
const path = process.env.MOTIF_KERNELS_ADDON_PATH;
const addon = loadKernelsAddon({ path }, () => undefined);
const paths = addon?.attend ? (['auto', 'avx2', 'scalar'] as const) : [];

interface Case {
  name: string;
  heads: number;
  headDim: number;
  shift: number;
  startPos: number;
  count: number;
  qRow: number;
}

function setup(c: Case, seed: number): { call: AttentionCall; kv: LayerKv; params: AttentionParams } {
  const rand = rng(seed);
  const width = c.heads * c.headDim;
  const per = 1 << c.shift;
  const positions = c.startPos + c.count;
  const blocks = Math.ceil(positions / per);
  const kv = {
    k: Array.from({ length: blocks }, () => randomX(rand, per * width)),
    v: Array.from({ length: blocks }, () => randomX(rand, per * width)),
  };
  // Query rows are q ‖ k ‖ v as in the layer (stride 3·width), scaled up so softmaxes are peaked.
  const q = randomX(rand, (c.qRow + c.count) * 3 * width).map((x) => 3 * x);
  const params = {
    heads: c.heads,
    headDim: c.headDim,
    lambda: 0.2 + rand() * 0.5,
    lambdaInit: 0.2,
    subln: randomX(rand, 2 * c.headDim).map((x) => 1 + x / 2),
    eps: 1e-6,
  };
  const call = {
    z: new Float32Array((c.qRow + c.count) * width),
    q,
    qStride: 3 * width,
    qRow: c.qRow,
    count: c.count,
    startPos: c.startPos,
    ...kv,
    shift: c.shift,
    ...params,
  };
  return { call, kv, params };
}

describe.skipIf(paths.length === 0)('native attention (addon attend) against the JavaScript reference', () => {
  const cases: Case[] = [
    { name: 'decode: one row at position 0', heads: 4, headDim: 16, shift: 4, startPos: 0, count: 1, qRow: 0 },
    { name: 'decode: one row deep in the cache, last block partial', heads: 4, headDim: 16, shift: 4, startPos: 37, count: 1, qRow: 2 },
    { name: 'prefill chunk from 0 across block boundaries', heads: 4, headDim: 16, shift: 2, startPos: 0, count: 16, qRow: 0 },
    { name: 'prefill chunk mid-prompt', heads: 8, headDim: 32, shift: 4, startPos: 48, count: 16, qRow: 48 },
    { name: 'head size off the SIMD width (scalar tails)', heads: 2, headDim: 13, shift: 3, startPos: 5, count: 7, qRow: 1 },
    { name: "Motif 2.6B's heads (16 × 128)", heads: 16, headDim: 128, shift: 4, startPos: 70, count: 4, qRow: 0 },
  ];
  for (const simd of paths) {
    it.each(cases)(`${simd}: $name`, (c) => {
      const native = loadKernelsAddon({ path, simd })!;
      const { call, kv, params } = setup(c, c.startPos * 31 + c.count + c.headDim);
      const want = new Float32Array(call.z.length);
      attendSegment(want, call.q, call.qStride, c.qRow, c.count, c.startPos, kv, c.shift, params, new AttentionScratch());
      native.attend!(call);
      const width = c.heads * c.headDim;
      let worst = 0;
      for (let i = c.qRow * width; i < want.length; i++) worst = Math.max(worst, Math.abs(call.z[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
      // f32 partial sums against the reference's doubles: a wrong index or pairing is off by O(1).
      expect(worst).toBeLessThan(2e-5);
      // Rows before qRow are not the call's: left untouched.
      expect(call.z.subarray(0, c.qRow * width).every((x) => x === 0)).toBe(true);
    });
  }

  it('refuses wrong shapes with an error naming the argument, before touching memory', () => {
    const c = cases[3]!;
    const { call } = setup(c, 1);
    const bad = (over: Partial<AttentionCall>) => () => addon!.attend!({ ...call, ...over });
    expect(bad({ k: call.k.slice(0, 2) })).toThrow(/kBlocks holds 2 blocks, 4 needed/);
    expect(bad({ v: [...call.v.slice(0, 3), new Float32Array(8)] })).toThrow(/vBlocks\[3\] holds 8 floats/);
    expect(bad({ z: new Float32Array(10) })).toThrow(/z needs/);
    expect(bad({ q: new Float32Array(10) })).toThrow(/q \(qRow\+count-1\)\*qStride/);
    expect(bad({ heads: 7 })).toThrow(/heads must be even/);
    expect(bad({ qStride: 3 })).toThrow(/qStride must be at least/);
    expect(bad({ subln: new Float32Array(2) })).toThrow(/subln needs/);
    expect(bad({ z: call.q })).toThrow(/must not share memory/);
    expect(bad({ k: [call.q as Float32Array, 1 as unknown as Float32Array] })).toThrow(ApiError);
  });
});
