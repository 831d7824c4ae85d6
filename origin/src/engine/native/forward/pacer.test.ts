import { describe, expect, it } from 'vitest';
import type { WeightMatrix } from '../kernels/dtype.ts';
import type { MatmulKernel } from '../kernels/matmul.ts';
import { createPacer } from './pacer.ts';

// A kernel whose calls take `cost(w)` ms of a fake clock, recording which path each call took.
function fakeKernel(clock: { t: number }, cost: (w: WeightMatrix) => number, withAsync = true) {
  const path: string[] = [];
  const kernel: MatmulKernel = {
    name: 'fake',
    matmul(_y, _x, _rows, w) {
      path.push('sync');
      clock.t += cost(w);
    },
    readRow() {},
    ...(withAsync
      ? {
          async matmulAsync(_y: Float32Array, _x: Float32Array, _rows: number, w: WeightMatrix) {
            path.push('async');
            clock.t += cost(w);
          },
        }
      : {}),
  };
  return { kernel, path };
}

const mat = (rows: number): WeightMatrix => ({ dtype: 'F32', data: new Float32Array(rows), rows, cols: 1 });
const y = new Float32Array(64);
const x = new Float32Array(64);

function setup(sliceMs: number, withAsync = true) {
  const clock = { t: 0 };
  let turns = 0;
  const small = mat(1);
  const big = mat(2);
  const { kernel, path } = fakeKernel(clock, (w) => (w === big ? 25 : 2), withAsync);
  const pacer = createPacer(kernel, { sliceMs, now: () => clock.t, yieldTurn: async () => void turns++ });
  return { clock, pacer, path, small, big, turns: () => turns };
}

describe('pacer', () => {
  it('runs an unmeasured matmul async, then short ones sync, yielding a turn when the slice is used up', async () => {
    const s = setup(10);
    for (let i = 0; i < 8; i++) await s.pacer.matmul(y, x, 1, s.small);
    expect(s.path).toEqual(['async', 'sync', 'sync', 'sync', 'sync', 'sync', 'sync', 'sync']);
    // The async call starts a slice at t = 2; sync calls end at 4 … 12 (10 ms used, no yield), at 14 (yield).
    expect(s.turns()).toBe(1);
  });

  it('always hands a matmul longer than the slice to the async path', async () => {
    const { pacer, path, big } = setup(10);
    for (let i = 0; i < 3; i++) await pacer.matmul(y, x, 1, big);
    expect(path).toEqual(['async', 'async', 'async']);
  });

  it('predicts more rows cost at least as much (linear scaling)', async () => {
    const { pacer, path, small } = setup(10);
    await pacer.matmul(y, x, 1, small); // measured: 2 ms for 1 row
    pacer.begin();
    await pacer.matmul(y, x, 6, small); // predicted 12 ms > 10 → async
    expect(path).toEqual(['async', 'async']);
  });

  it('sliceMs 0 sends every matmul async', async () => {
    const { pacer, path, small } = setup(0);
    for (let i = 0; i < 4; i++) await pacer.matmul(y, x, 1, small);
    expect(path).toEqual(['async', 'async', 'async', 'async']);
  });

  it('yields between calls of a kernel without an async path once the slice is used up', async () => {
    const s = setup(5, false);
    for (let i = 0; i < 6; i++) await s.pacer.matmul(y, x, 1, s.small);
    expect(s.path.every((p) => p === 'sync')).toBe(true);
    // 2, 4, 6 (> 5: yield, new slice at 6), 8, 10, 12 (> 11: yield).
    expect(s.turns()).toBe(2);
  });

  it('checkpoint yields only when the slice is used up', async () => {
    const s = setup(10);
    await s.pacer.checkpoint();
    expect(s.turns()).toBe(0);
    s.clock.t += 11;
    await s.pacer.checkpoint();
    await s.pacer.checkpoint();
    expect(s.turns()).toBe(1);
  });
});
