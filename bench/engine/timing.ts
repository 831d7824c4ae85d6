/**
 * Sampling for benchmarks on a shared machine: time a function repeatedly and report the median,
 * which shrugs off the runs another process happened to slow down.
 */
import { median } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';

export interface SampleOptions {
  /** Untimed calls first (page faults, caches, thread wake-up). */
  warmup: number;
  minSamples: number;
  maxSamples: number;
  /** Stop after this much timed work once minSamples are in. */
  budgetMs: number;
}

export interface Samples {
  medianMs: number;
  samplesMs: number[];
}

/** Calls `fn(i)` warmup + n times (n between minSamples and maxSamples) and returns the median. */
export function sample(fn: (i: number) => void, opts: SampleOptions): Samples {
  if (opts.minSamples < 1 || opts.maxSamples < opts.minSamples) throw new RangeError('sample: need 1 <= minSamples <= maxSamples');
  let i = 0;
  for (; i < opts.warmup; i++) fn(i);
  const samplesMs: number[] = [];
  let spent = 0;
  while (samplesMs.length < opts.maxSamples && (samplesMs.length < opts.minSamples || spent < opts.budgetMs)) {
    const t0 = performance.now();
    fn(i++);
    const dt = performance.now() - t0;
    samplesMs.push(dt);
    spent += dt;
  }
  return { medianMs: median(samplesMs), samplesMs };
}
