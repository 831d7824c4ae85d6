/**
 * What a soak watches in a process from outside: resident memory and open file descriptors (Linux
 * /proc), and the least-squares slope of a series of samples.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size in MB (VmRSS), or NaN once the process is gone. */
export function rssMb(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Open file descriptors (sockets, files, pipes), or NaN once the process is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

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
