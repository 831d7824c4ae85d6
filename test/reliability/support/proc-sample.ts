/**
 * What a soak makes of the samples it takes (memory and fds are read by scripts/stack/proc-stats.ts):
 * the slope of a series of samples.
 */

export interface Sample {
  /** ms since the soak started. */
  t: number;
  v: number;
}

/**
 * Theil–Sen slope in units per minute: the median of the slopes between every pair of samples
 * (0 for fewer than two). A leak is a trend every pair sees; a one-time step (the heap growing
 * to its working size a little after warm-up) moves only the pairs that straddle it, which a
 * least-squares fit would turn into a slope over the whole run.
 */
export function slopePerMinute(samples: readonly Sample[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const dt = samples[j]!.t - samples[i]!.t;
      if (dt > 0) slopes.push(((samples[j]!.v - samples[i]!.v) / dt) * 60_000);
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
