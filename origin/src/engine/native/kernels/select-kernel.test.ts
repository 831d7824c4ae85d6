import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import type { WeightMatrix } from './dtype.ts';
import { createAddonKernel, type NativeMatmuls, selectKernel } from './select-kernel.ts';

// A stand-in for the addon: records the raw calls and computes nothing.
function fakeAddon(threads = 2, maxThreads = 0) {
  const calls: { kind: 'sync' | 'async'; dtype: string; rows: number; inDim: number; outDim: number }[] = [];
  const addon: NativeMatmuls = {
    matmul: (_y, _x, _w, dtype, rows, inDim, outDim) => void calls.push({ kind: 'sync', dtype, rows, inDim, outDim }),
    matmulAsync: async (_y, _x, _w, dtype, rows, inDim, outDim) => void calls.push({ kind: 'async', dtype, rows, inDim, outDim }),
    info: { simd: 'avx2', threads, maxThreads, path: '/opt/motif_kernels.node' },
  };
  return { addon, calls };
}

function select(mode: string | undefined, addon: NativeMatmuls | null, reason = 'not built') {
  const lines: string[] = [];
  let loads = 0;
  const s = selectKernel({
    ...(mode !== undefined ? { mode } : {}),
    loadAddon: (why) => {
      loads++;
      if (!addon) why(reason);
      return addon;
    },
    log: (l) => lines.push(l),
  });
  return { s, lines, loads };
}

describe('selectKernel', () => {
  it.each([
    [
      'auto with the addon',
      'auto',
      true,
      'native',
      /native-avx2 \(C\+\+ addon, avx2, 2 threads\): MOTIF_KERNELS=auto and the addon loaded from \/opt\/motif_kernels\.node/,
    ],
    ['default mode with the addon', undefined, true, 'native', /MOTIF_KERNELS=auto/],
    ['native with the addon', 'native', true, 'native', /MOTIF_KERNELS=native/],
    ['auto without the addon', 'auto', false, 'js', /js-scalar .*MOTIF_KERNELS=auto and the native addon is unavailable \(not built\)/],
  ] as const)('%s → %s, one log line saying why', (_name, mode, present, kind, line) => {
    const { s, lines } = select(mode, present ? fakeAddon().addon : null);
    expect(s.kind).toBe(kind);
    expect(lines).toEqual([s.reason]);
    expect(s.reason).toMatch(line);
  });

  it('js never loads the addon', () => {
    const { s, loads, lines } = select('js', fakeAddon().addon);
    expect(s.kind).toBe('js');
    expect(loads).toBe(0);
    expect(lines).toEqual(['kernels: js-scalar (portable JavaScript, 1 thread): MOTIF_KERNELS=js']);
  });

  it('native without the addon fails loudly instead of running 100× slower', () => {
    const err = (() => {
      try {
        select('native', null, 'no toolchain');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('engine_unavailable');
    expect((err as ApiError).message).toMatch(/MOTIF_KERNELS=native .*no toolchain/);
  });

  it('rejects an unknown mode, naming the choices', () => {
    expect(() => select('gpu', fakeAddon().addon)).toThrow(/auto, js, native.*'gpu'/);
  });

  it('reports a thread cap', () => {
    expect(select('auto', fakeAddon(8, 1).addon).s.reason).toMatch(/1 thread\)/);
  });
});

describe('createAddonKernel', () => {
  it('passes W as (data, dtype, rows, in = cols, out = rows) to both paths and reads rows in JS', async () => {
    const { addon, calls } = fakeAddon();
    const k = createAddonKernel(addon);
    const w: WeightMatrix = { dtype: 'BF16', data: Uint16Array.of(0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0), rows: 3, cols: 2 };
    k.matmul(new Float32Array(6), new Float32Array(4), 2, w);
    await k.matmulAsync!(new Float32Array(6), new Float32Array(4), 2, w);
    expect(calls).toEqual([
      { kind: 'sync', dtype: 'BF16', rows: 2, inDim: 2, outDim: 3 },
      { kind: 'async', dtype: 'BF16', rows: 2, inDim: 2, outDim: 3 },
    ]);
    const dst = new Float32Array(3);
    k.readRow(w, 2, dst, 1);
    expect([...dst]).toEqual([0, 5, 6]);
  });
});

describe('createAddonKernel and Q8_0', () => {
  it("offers the addon's quantiser when it has one, and passes Q8_0 matrices through", () => {
    const { addon } = fakeAddon();
    const asked: string[] = [];
    const kernel = createAddonKernel({
      ...addon,
      quantizeQ8: (_w, dtype, rows, cols) => {
        asked.push(`${dtype} ${rows}×${cols}`);
        return new Uint8Array(rows * (cols / 32) * 34);
      },
    });
    const q = kernel.quantizeQ8!({ dtype: 'BF16', data: new Uint16Array(2 * 64), rows: 2, cols: 64 });
    expect(q).toMatchObject({ dtype: 'Q8_0', rows: 2, cols: 64 });
    expect(q.data).toHaveLength(2 * 2 * 34);
    expect(kernel.quantizeQ8!(q)).toBe(q);
    expect(asked).toEqual(['BF16 2×64']);
  });

  it('has none without it (the JS quantiser is used)', () => {
    expect(createAddonKernel(fakeAddon().addon).quantizeQ8).toBeUndefined();
  });
});
