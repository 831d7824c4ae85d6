/**
 * Pieces of the full-model benchmark (engine.bench.ts): decode-step timing with event-loop lag,
 * KV cache cloning (so batches 4 and 16 decode at the same context as batch 1 without paying
 * 16 prefills), the bytes of weights one decode step reads, a matmul-timing kernel for the
 * step profile, and the report formatting.
 */
import { median } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { KvCache } from '../../origin/src/engine/native/batching/kv-cache.ts';
import type { MotifWeights } from '../../origin/src/engine/native/checkpoint/weights.ts';
import type { MatmulKernel } from '../../origin/src/engine/native/kernels/matmul.ts';
import type { MotifModel, SequenceCache } from '../../origin/src/engine/native/model.ts';

/** Bytes of weight matrices one decode step streams (every layer matrix + the output head; the embedding only gives one row per token). */
export function weightBytesPerToken(w: MotifWeights): number {
  const bytes = (m: { data: { byteLength: number } }) => m.data.byteLength;
  return w.layers.reduce((n, l) => n + bytes(l.qkv) + bytes(l.o) + bytes(l.gateUp) + bytes(l.down), 0) + bytes(w.head);
}

/**
 * A new cache holding a copy of `src` (same model): decode benchmarks at batch B start every
 * sequence from one real prefill instead of B prefills. Uses the KvCache block API directly.
 */
export function cloneCache(model: MotifModel, src: SequenceCache, capacity: number): SequenceCache {
  if (!(src instanceof KvCache)) throw new TypeError('cloneCache: not a MotifModel cache');
  const dst = model.createCache(capacity);
  if (!(dst instanceof KvCache)) throw new TypeError('cloneCache: not a MotifModel cache');
  dst.reserve(src.length);
  for (let l = 0; l < src.layout.layers; l++) {
    const from = src.layer(l);
    const to = dst.layer(l);
    from.k.forEach((b, i) => to.k[i]!.set(b));
    from.v.forEach((b, i) => to.v[i]!.set(b));
  }
  dst.commit(src.length);
  return dst;
}

export interface StepTiming {
  /** Median wall time of one step. */
  medianMs: number;
  samplesMs: number[];
  /** Worst event-loop delay seen while the steps ran (how long HTTP would have waited). */
  maxLoopLagMs: number;
}

/**
 * Time `steps` decode steps (after `warmup` untimed ones) of `caches` fed greedy tokens; medians,
 * because the machine is shared.
 */
export async function timeDecode(model: MotifModel, caches: SequenceCache[], warmup: number, steps: number): Promise<StepTiming> {
  let next = caches.map((_, i) => (i * 7919 + 1) % model.config.vocab_size);
  const samplesMs: number[] = [];
  let maxLoopLagMs = 0;
  for (let s = 0; s < warmup + steps; s++) {
    const lag = lagProbe();
    const t0 = performance.now();
    const logits = await model.forward(caches.map((cache, i) => ({ cache, ids: [next[i]!] })));
    const ms = performance.now() - t0;
    const lagMs = await lag.stop();
    if (s >= warmup) {
      samplesMs.push(ms);
      maxLoopLagMs = Math.max(maxLoopLagMs, lagMs);
    }
    next = logits.map(argmax);
  }
  return { medianMs: median(samplesMs), samplesMs, maxLoopLagMs };
}

/**
 * How long the event loop went without a turn: a 1 ms timer chain records the longest gap
 * between its ticks (what an HTTP read or SSE write would have waited), ≥ 1 ms by construction.
 */
export function lagProbe(): { stop(): Promise<number> } {
  let last = performance.now();
  let max = 0;
  let timer: ReturnType<typeof setTimeout>;
  const tick = () => {
    const t = performance.now();
    max = Math.max(max, t - last);
    last = t;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    async stop() {
      // One more turn, so a stretch that ran until the very end is counted.
      await new Promise((r) => setTimeout(r, 1));
      clearTimeout(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

/**
 * Time the same decode step on several models (one cache each) in turn, step by step, so a load
 * spike from another process hits every variant alike; medians and worst loop lag per variant.
 */
export async function timeInterleaved(
  variants: readonly { name: string; model: MotifModel; cache: SequenceCache }[],
  warmup: number,
  steps: number,
): Promise<Map<string, StepTiming>> {
  const state = variants.map((v) => ({ ...v, next: 1, samplesMs: [] as number[], lagMs: 0 }));
  for (let s = 0; s < warmup + steps; s++) {
    for (const v of state) {
      const lag = lagProbe();
      const t0 = performance.now();
      const [logits] = await v.model.forward([{ cache: v.cache, ids: [v.next] }]);
      const ms = performance.now() - t0;
      const lagMs = await lag.stop();
      if (s >= warmup) {
        v.samplesMs.push(ms);
        v.lagMs = Math.max(v.lagMs, lagMs);
      }
      v.next = argmax(logits!);
    }
  }
  return new Map(state.map((v) => [v.name, { medianMs: median(v.samplesMs), samplesMs: v.samplesMs, maxLoopLagMs: v.lagMs }]));
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** Sum of matmul time per call site, filled by a timingKernel. */
export interface MatmulClock {
  layersMs: number;
  headMs: number;
  calls: number;
  reset(): void;
}

/**
 * Wrap a kernel so every (synchronous) matmul is timed; the async path is left out, so a model
 * using this kernel computes on the JS thread and the clock sees all of it. `head` identifies
 * the output head matrix.
 */
export function timingKernel(inner: MatmulKernel, head: object): { kernel: MatmulKernel; clock: MatmulClock } {
  const clock: MatmulClock = {
    layersMs: 0,
    headMs: 0,
    calls: 0,
    reset() {
      this.layersMs = 0;
      this.headMs = 0;
      this.calls = 0;
    },
  };
  const kernel: MatmulKernel = {
    name: `${inner.name} (timed)`,
    matmul(y, x, rows, w) {
      const t0 = performance.now();
      inner.matmul(y, x, rows, w);
      const dt = performance.now() - t0;
      if (w.data === (head as { data: unknown }).data) clock.headMs += dt;
      else clock.layersMs += dt;
      clock.calls++;
    },
    readRow: (w, row, dst, off) => inner.readRow(w, row, dst, off),
    ...(inner.attend ? { attend: inner.attend.bind(inner) } : {}),
    ...(inner.norms ? { norms: inner.norms } : {}),
  };
  return { kernel, clock };
}

/** Synchronous copy of a kernel (its async path removed): the "everything blocks" baseline. */
export function syncOnly(inner: MatmulKernel): MatmulKernel {
  return {
    name: `${inner.name} (sync)`,
    matmul: (y, x, rows, w) => inner.matmul(y, x, rows, w),
    readRow: (w, r, d, o) => inner.readRow(w, r, d, o),
    ...(inner.attend ? { attend: inner.attend.bind(inner) } : {}),
    ...(inner.norms ? { norms: inner.norms } : {}),
  };
}

/** Percentage of the roofline reached: measured tokens/s over bandwidth ÷ bytes per token. */
export function rooflinePercent(tokensPerSecond: number, gbPerS: number, bytesPerToken: number): number {
  return (100 * tokensPerSecond) / ((gbPerS * 1e9) / bytesPerToken);
}

/** The required last line of the report. */
export function rooflineLine(percent: number): string {
  return `roofline: batch-1 decode at ${Math.round(percent)}% of the measured memory-bandwidth roofline`;
}

/** Two-column table (label, value), labels padded. */
export function formatTable(rows: readonly (readonly [string, string])[]): string[] {
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${l.padEnd(w)}  ${v}`);
}

export const GB = 1e9;
/** Bytes → "5.20 GB". */
export function gb(bytes: number): string {
  return `${(bytes / GB).toFixed(2)} GB`;
}
