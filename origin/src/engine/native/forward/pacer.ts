/**
 * Pacing of the forward pass against the event loop. A 2.6B decode step takes 100+ ms and a long
 * prefill seconds; run all of it on the JS thread and HTTP (SSE writes, heartbeats, new requests,
 * aborts) stalls for that long. Handing *every* matmul to the kernel's async path (a libuv worker
 * thread) frees the JS thread but costs a thread hop per call (~30–100 µs measured here, ×129
 * matmuls per step, and far more when other processes compete for the cores: every hop is a
 * thread wake-up). So the pacer works in time slices: a matmul predicted (from its own last
 * duration) to take longer than a whole slice runs async — the compute continues off-thread while
 * the event loop gets its turn; every other matmul runs synchronously, and once the slice is used
 * up the pacer yields one turn (setImmediate: no thread hop, microseconds when no I/O waits).
 * Long JS stretches (attention over a long prefill) call `checkpoint()`, which yields the same
 * way. A stretch on the JS thread is thus at most one slice plus one sub-slice matmul.
 */
import type { WeightMatrix } from '../kernels/dtype.ts';
import type { MatmulKernel } from '../kernels/matmul.ts';

export interface PacerOptions {
  /** Longest stretch (ms) the forward pass holds the JS thread; 0 = every matmul async. */
  sliceMs: number;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Give the event loop one turn (used when the kernel has no async path, and by checkpoint). */
  yieldTurn: () => Promise<void>;
}

export interface Pacer {
  /** y = x·Wᵀ through the kernel, sync or async as the slice allows. */
  matmul(y: Float32Array, x: Float32Array, rows: number, w: WeightMatrix): Promise<void> | void;
  /** Yield a turn when the current slice is used up. */
  checkpoint(): Promise<void> | void;
  /** Start a fresh slice (the caller just came from the event loop). */
  begin(): void;
}

interface Cost {
  ms: number;
  rows: number;
}

/** A pacer over `kernel`; options are checked by the model that owns it. */
export function createPacer(kernel: MatmulKernel, opts: PacerOptions): Pacer {
  const { now, sliceMs, yieldTurn } = opts;
  // Last measured duration per weight matrix: decode repeats the same shapes every step.
  const costs = new WeakMap<WeightMatrix, Cost>();
  let sliceStart = now();
  const predict = (w: WeightMatrix, rows: number): number => {
    const c = costs.get(w);
    // Unknown: assume it overruns (it then runs async once and is measured). More rows never cost
    // less; scaling linearly over-predicts memory-bound calls, which only costs a hop.
    return c === undefined ? Infinity : c.ms * Math.max(1, rows / c.rows);
  };
  const async = kernel.matmulAsync?.bind(kernel);
  const checkpoint = (): Promise<void> | void => {
    if (now() - sliceStart <= sliceMs) return;
    return yieldTurn().then(() => {
      sliceStart = now();
    });
  };

  return {
    begin() {
      sliceStart = now();
    },
    matmul(y, x, rows, w) {
      const t0 = now();
      if (async !== undefined && predict(w, rows) >= sliceMs) {
        // Longer than a whole slice (the output head, big prefill chunks): off the JS thread.
        return async(y, x, rows, w).then(() => {
          const t1 = now();
          costs.set(w, { ms: t1 - t0, rows });
          sliceStart = t1;
        });
      }
      kernel.matmul(y, x, rows, w);
      costs.set(w, { ms: now() - t0, rows });
      return checkpoint();
    },
    checkpoint,
  };
}

/** Default turn: setImmediate where the runtime has it (Node), else a zero timeout. */
export function defaultYieldTurn(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  return new Promise<void>((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}
