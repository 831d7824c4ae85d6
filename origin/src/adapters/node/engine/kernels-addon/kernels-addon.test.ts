import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { weightMatrix } from '../../../../engine/native/kernels/dtype.ts';
import { createJsKernel } from '../../../../engine/native/kernels/matmul.ts';
import { type KernelsAddonOptions, loadKernelsAddon, type MatmulFn, median, type WeightDtype } from './kernels-addon.ts';
import { decodeTable } from './plain-matmul.ts';
import { firstMismatch, randomW, randomX, rng } from './test-data.ts';

// The addon is optional by design (no toolchain → portable kernels). CI with a compiler sets
// MOTIF_REQUIRE_KERNELS_ADDON=1 so a broken build cannot hide behind skipped tests.
// MOTIF_KERNELS_ADDON_PATH runs the suite against another build (e.g. a portable one).
const path = process.env.MOTIF_KERNELS_ADDON_PATH;
const reasons: string[] = [];
const addon = loadKernelsAddon({ path }, (m) => reasons.push(m));
const requireAddon = process.env.MOTIF_REQUIRE_KERNELS_ADDON === '1';

describe('loadKernelsAddon', () => {
  it('returns null and logs why when the binary is missing', () => {
    const logged: string[] = [];
    expect(loadKernelsAddon({ path: '/nonexistent/motif_kernels.node' }, (m) => logged.push(m))).toBeNull();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/not found at \/nonexistent\/motif_kernels\.node.*portable TS kernels/);
  });

  it('rejects bad options instead of falling back', () => {
    expect(() => loadKernelsAddon({ maxThreads: -1 })).toThrow();
    expect(() => loadKernelsAddon({ simd: 'amx' } as unknown as KernelsAddonOptions)).toThrow();
  });

  it.runIf(requireAddon)('is built (MOTIF_REQUIRE_KERNELS_ADDON=1)', () => {
    expect(reasons).toEqual([]);
    expect(addon).not.toBeNull();
  });

  it.skipIf(!addon)('caps the SIMD path at the requested one', () => {
    const best = addon!.info.simd;
    expect(['amx', 'avx512', 'avx2', 'scalar']).toContain(best);
    expect(loadKernelsAddon({ path, simd: 'avx512' })!.info.simd).toBe(best === 'amx' ? 'avx512' : best);
    expect(loadKernelsAddon({ path, simd: 'avx2' })!.info.simd).toBe(best === 'scalar' ? 'scalar' : 'avx2');
    expect(loadKernelsAddon({ path, simd: 'scalar' })!.info.simd).toBe('scalar');
  });

  it('computes a median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

// Without the addon the engine falls back to its portable JS kernel: the same equivalence tests
// then run against that, so they pass (and mean something) either way.
function portable(): MatmulFn {
  const js = createJsKernel();
  return (y, x, w, dtype, rows, cols, outRows) => js.matmul(y, x, rows, weightMatrix(dtype, w, outRows, cols));
}
const VARIANTS: { name: string; make: () => MatmulFn }[] = addon
  ? (
      [
        ['addon simd, all threads', {}],
        ['addon simd, 1 thread', { maxThreads: 1 }],
        // On AMX CPUs `auto` takes the AMX GEMM for BF16 and on AVX-512 CPUs the AVX-512 one; these
        // keep the narrower GEMMs tested there too.
        ['addon avx512, all threads', { simd: 'avx512' }],
        ['addon avx2, all threads', { simd: 'avx2' }],
        ['addon scalar, all threads', { simd: 'scalar' }],
        ['addon scalar, 1 thread', { simd: 'scalar', maxThreads: 1 }],
      ] as [string, KernelsAddonOptions][]
    ).map(([name, opts]) => ({ name, make: () => loadKernelsAddon({ ...opts, path })!.matmul }))
  : [{ name: 'portable JS kernel (addon not built)', make: portable }];
const DTYPES: WeightDtype[] = ['F32', 'BF16', 'F16'];
// (in, out) pairs off every SIMD width: K tails of 1..15, ragged output blocks, several K chunks
// (1029 > the 512-element chunk used at 9+ rows) and enough work to split across threads.
const SHAPES: [number, number][] = [
  [1, 1],
  [7, 3],
  [9, 5],
  [17, 13],
  [31, 33],
  [33, 67],
  [100, 21],
  [257, 9],
  [1029, 37],
];
// in > 4096 sends 1–2 rows through the tiles instead of the sequential batch-1/2 path.
const LONG_K: [number, number] = [4105, 6];

describe('matmul matches the plain loop', () => {
  it.each(DTYPES.flatMap((dtype) => VARIANTS.map((v) => ({ dtype, ...v }))))('$dtype, $name', ({ dtype, make }) => {
    const matmul = make();
    const rand = rng(0x5eed + dtype.length);
    for (let rows = 1; rows <= 17; rows++) {
      const shapes = [SHAPES[rows % SHAPES.length]!, SHAPES[(rows * 5) % SHAPES.length]!, ...(rows <= 3 ? [LONG_K] : [])];
      for (const [inDim, outDim] of shapes) {
        const x = randomX(rand, rows * inDim);
        const w = randomW(rand, dtype, outDim * inDim);
        const y = new Float32Array(rows * outDim).fill(NaN);
        matmul(y, x, w, dtype, rows, inDim, outDim);
        expect(firstMismatch(y, x, w, dtype, rows, inDim, outDim), `rows=${rows} in=${inDim} out=${outDim}`).toBeNull();
      }
    }
  });

  // 16+ rows (AVX-512: 8+) take the packed GEMM (AVX2: 6×16 tiles, AVX-512: 12×32, K in chunks):
  // row counts off both tile heights, ragged panels, K tails and several K chunks.
  it.each(DTYPES.flatMap((dtype) => VARIANTS.map((v) => ({ dtype, ...v }))))('$dtype, $name, GEMM sizes', ({ dtype, make }) => {
    const matmul = make();
    const rand = rng(0x6e33 + dtype.length);
    const shapes: [number, number][] = [
      [9, 5],
      [130, 33],
      [257, 67],
      [1029, 37],
    ];
    for (const rows of [8, 11, 16, 17, 23, 29, 40]) {
      for (const [inDim, outDim] of shapes) {
        const x = randomX(rand, rows * inDim);
        const w = randomW(rand, dtype, outDim * inDim);
        const y = new Float32Array(rows * outDim).fill(NaN);
        matmul(y, x, w, dtype, rows, inDim, outDim);
        expect(firstMismatch(y, x, w, dtype, rows, inDim, outDim), `rows=${rows} in=${inDim} out=${outDim}`).toBeNull();
      }
    }
  });

  // 32+ rows of BF16 weights with in and out multiples of 32 take the AMX GEMM on AMX CPUs (the
  // other paths elsewhere): a partial last token tile alone (33, 47, 130) and as the second of a
  // pair (50, 60), one and two token tiles per step, and K past one 2048-element chunk, whose sums
  // go back through y.
  it.each(VARIANTS)('BF16, $name, AMX sizes', ({ make }) => {
    const matmul = make();
    const rand = rng(0x0a3e);
    const shapes: [number, number][] = [
      [32, 32],
      [96, 64],
      [2080, 96],
      [4128, 32],
    ];
    for (const rows of [32, 33, 47, 50, 60, 64, 130]) {
      for (const [inDim, outDim] of shapes) {
        const x = randomX(rand, rows * inDim);
        const w = randomW(rand, 'BF16', outDim * inDim);
        const y = new Float32Array(rows * outDim).fill(NaN);
        matmul(y, x, w, 'BF16', rows, inDim, outDim);
        expect(firstMismatch(y, x, w, 'BF16', rows, inDim, outDim), `rows=${rows} in=${inDim} out=${outDim}`).toBeNull();
      }
    }
  });

  it.each(['BF16', 'F16'] as const)('decodes every finite %s pattern exactly', (dtype) => {
    const table = decodeTable(dtype);
    const finite = [...Array(65536).keys()].filter((h) => Number.isFinite(table[h]));
    // x = the 8×8 identity: y[r, o] = W[o, r] exactly, through one full SIMD vector of K.
    const outDim = Math.ceil(finite.length / 8);
    const w = new Uint16Array(outDim * 8);
    finite.forEach((h, i) => {
      w[(i % outDim) * 8 + Math.floor(i / outDim)] = h;
    });
    const x = new Float32Array(64);
    for (let i = 0; i < 8; i++) x[i * 9] = 1;
    for (const { name, make } of VARIANTS) {
      const y = new Float32Array(8 * outDim);
      make()(y, x, w, dtype, 8, 8, outDim);
      for (let o = 0; o < outDim; o++) {
        for (let r = 0; r < 8; r++) {
          if (y[r * outDim + o] !== table[w[o * 8 + r]!]) {
            expect.fail(`${name}: pattern 0x${w[o * 8 + r]!.toString(16)} → ${y[r * outDim + o]}, want ${table[w[o * 8 + r]!]}`);
          }
        }
      }
    }
  });

  it.skipIf(!addon).each(['BF16', 'F16'] as const)('keeps %s infinities and NaNs', (dtype) => {
    const table = decodeTable(dtype);
    const special = [...Array(65536).keys()].filter((h) => !Number.isFinite(table[h]));
    const y = new Float32Array(special.length);
    addon!.matmul(y, new Float32Array([1]), Uint16Array.from(special), dtype, 1, 1, special.length);
    special.forEach((h, i) => expect(Object.is(y[i], table[h]) || (Number.isNaN(y[i]) && Number.isNaN(table[h]))).toBe(true));
  });

  it.skipIf(!addon)('handles empty products', () => {
    const y = new Float32Array(6).fill(7);
    addon!.matmul(y, new Float32Array(0), new Float32Array(0), 'F32', 2, 0, 3);
    expect([...y]).toEqual([0, 0, 0, 0, 0, 0]);
    addon!.matmul(y, new Float32Array(0), new Float32Array(15), 'F32', 0, 5, 3);
    expect([...y]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe.skipIf(!addon)('native matmul rejects bad arguments with the one error type', () => {
  const f32 = (n: number) => new Float32Array(n);
  const cases: { name: string; call: () => void; message: RegExp }[] = [
    {
      name: 'F32 weights in a Uint16Array',
      call: () => addon!.matmul(f32(4), f32(4), new Uint16Array(4), 'F32', 2, 2, 2),
      message: /w must be a Float32Array/,
    },
    { name: 'BF16 weights in a Float32Array', call: () => addon!.matmul(f32(4), f32(4), f32(4), 'BF16', 2, 2, 2), message: /w must be a Uint16Array/ },
    { name: 'y too short', call: () => addon!.matmul(f32(3), f32(4), f32(4), 'F32', 2, 2, 2), message: /y holds 3 floats, rows\*outDim = 4/ },
    { name: 'x too short', call: () => addon!.matmul(f32(4), f32(3), f32(4), 'F32', 2, 2, 2), message: /x holds 3/ },
    { name: 'w too short', call: () => addon!.matmul(f32(4), f32(4), new Uint16Array(3), 'F16', 2, 2, 2), message: /w holds 3/ },
    { name: 'fractional rows', call: () => addon!.matmul(f32(4), f32(4), f32(4), 'F32', 1.5, 2, 2), message: /rows must be an integer/ },
    { name: 'negative inDim', call: () => addon!.matmul(f32(4), f32(4), f32(4), 'F32', 2, -2, 2), message: /inDim must be an integer/ },
    { name: 'unknown dtype', call: () => addon!.matmul(f32(4), f32(4), f32(4), 'Q8' as WeightDtype, 2, 2, 2), message: /unknown weight dtype Q8/ },
    {
      name: 'y aliasing x',
      call: () => {
        const b = f32(8);
        addon!.matmul(b.subarray(0, 4), b.subarray(2, 6), f32(4), 'F32', 2, 2, 2);
      },
      message: /must not share memory/,
    },
  ];
  it.each(cases)('$name', ({ call, message }) => {
    let caught: unknown;
    try {
      call();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).code).toBe('internal_error');
    expect((caught as ApiError).message).toMatch(message);
  });

  it('rejects bad arguments of the async variant too', async () => {
    await expect(addon!.matmulAsync(f32(1), f32(4), f32(4), 'F32', 2, 2, 2)).rejects.toThrow(/y holds 1/);
  });
});
