import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createJsKernel, kernelFromMatmul } from '../../../../engine/native/kernels/matmul.ts';
import { loadKernelsAddon, type WeightDtype } from './kernels-addon.ts';
import { firstMismatch, randomW, randomX, rng } from './test-data.ts';

const addon = loadKernelsAddon({ path: process.env.MOTIF_KERNELS_ADDON_PATH }, () => {});

// Runs one BF16 matmul inside a worker_thread that loads the addon itself (plain CommonJS eval,
// so no TS loader is needed there). A module that is not context-aware fails right here with
// "Module did not self-register".
function matmulInWorker(path: string, x: Float32Array, w: Uint16Array, rows: number, inDim: number, outDim: number): Promise<Float32Array> {
  const code = `
    const { parentPort, workerData: d } = require('node:worker_threads');
    const k = require(d.path);
    const y = new Float32Array(d.rows * d.outDim);
    for (let i = 0; i < 3; i++) k.matmul(y, d.x, d.w, 1, d.rows, d.inDim, d.outDim, 0, true);
    parentPort.postMessage(y);`;
  const worker = new Worker(code, { eval: true, workerData: { path, x, w, rows, inDim, outDim } });
  return new Promise((resolve, reject) => {
    worker.once('message', (y: Float32Array) => {
      resolve(y);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (c) => {
      if (c !== 0) reject(new Error(`worker exited with ${c}`));
    });
  });
}

describe.skipIf(!addon)('native matmul off the main thread', () => {
  const rand = rng(42);
  const make = (dtype: WeightDtype, rows: number, inDim: number, outDim: number) => ({
    dtype,
    rows,
    inDim,
    outDim,
    x: randomX(rand, rows * inDim),
    w: randomW(rand, dtype, outDim * inDim),
  });

  it('matmulAsync gives the sync result, also with several calls in flight', async () => {
    const cases = [make('BF16', 1, 515, 301), make('F16', 5, 260, 129), make('F32', 17, 99, 70), make('BF16', 3, 2048, 64)];
    const ys = cases.map((c) => new Float32Array(c.rows * c.outDim));
    await Promise.all(cases.map((c, i) => addon!.matmulAsync(ys[i]!, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim)));
    cases.forEach((c, i) => {
      const sync = new Float32Array(c.rows * c.outDim);
      addon!.matmul(sync, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim);
      expect(ys[i]).toEqual(sync);
      expect(firstMismatch(ys[i]!, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim)).toBeNull();
    });
  });

  it('loads and runs in two worker_threads while the main thread computes too', async () => {
    const c = make('BF16', 4, 384, 200);
    const running = [
      matmulInWorker(addon!.info.path, c.x, c.w as Uint16Array, c.rows, c.inDim, c.outDim),
      matmulInWorker(addon!.info.path, c.x, c.w as Uint16Array, c.rows, c.inDim, c.outDim),
    ];
    const main = new Float32Array(c.rows * c.outDim);
    for (let i = 0; i < 20; i++) addon!.matmul(main, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim);
    const fromWorkers = await Promise.all(running);
    expect(firstMismatch(main, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim)).toBeNull();
    for (const y of fromWorkers) expect(y).toEqual(main);
  });

  it('plugs into the engine kernel port (kernelFromMatmul) with the same results as the JS kernel', () => {
    const c = make('BF16', 6, 130, 45);
    const native = kernelFromMatmul('native', addon!.matmul);
    const js = createJsKernel();
    const w = { dtype: 'BF16' as const, data: c.w as Uint16Array, rows: c.outDim, cols: c.inDim };
    const a = new Float32Array(c.rows * c.outDim);
    const b = new Float32Array(c.rows * c.outDim);
    native.matmul(a, c.x, c.rows, w);
    js.matmul(b, c.x, c.rows, w);
    expect(firstMismatch(a, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim)).toBeNull();
    expect(firstMismatch(b, c.x, c.w, c.dtype, c.rows, c.inDim, c.outDim)).toBeNull();
  });

  it('measures read bandwidth and rejects nonsense sizes', async () => {
    const r = await addon!.readBandwidth({ bytes: 8 << 20, runs: 3 });
    expect(r.runs).toHaveLength(3);
    expect(r.gbPerS).toBeGreaterThan(0);
    expect(r.threads).toBe(addon!.info.threads);
    await expect(addon!.readBandwidth({ bytes: 100 })).rejects.toThrow();
  });
});
