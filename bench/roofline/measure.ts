/**
 * The memory-bandwidth roofline: how fast this machine streams memory with one core and with all
 * of them, and what that means for batch-1 decode, which reads every weight once per token.
 */
import type { BandwidthResult, KernelsAddon } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';

/** Motif 2.6B read per decoded token in BF16: ≈2.6e9 parameters × 2 bytes (tied head included). */
export const MOTIF_2_6B_BF16_BYTES_PER_TOKEN = 2.6e9 * 2;

export interface Roofline {
  oneCore: BandwidthResult;
  allCores: BandwidthResult;
}

export interface RooflineOptions {
  /** Buffer size; must dwarf the last-level cache (default 1 GiB). */
  bytes?: number;
  /** Runs per measurement; the median is reported (default 5). */
  runs?: number;
}

/** Read bandwidth with 1 core and with every core of the kernels' thread pool (medians). */
export async function measureRoofline(addon: KernelsAddon, opts: RooflineOptions = {}): Promise<Roofline> {
  const bytes = opts.bytes ?? 2 ** 30;
  const runs = opts.runs ?? 5;
  const oneCore = await addon.readBandwidth({ bytes, runs, threads: 1 });
  const allCores = await addon.readBandwidth({ bytes, runs, threads: addon.info.threads });
  return { oneCore, allCores };
}

/** Upper bound on batch-1 decode speed: tokens/s if every weight byte streams at `gbPerS`. */
export function decodeTokensPerSecond(gbPerS: number, bytesPerToken = MOTIF_2_6B_BF16_BYTES_PER_TOKEN): number {
  return (gbPerS * 1e9) / bytesPerToken;
}

/** Human-readable summary lines. */
export function formatRoofline(r: Roofline): string[] {
  const line = (label: string, b: BandwidthResult) =>
    `${label.padEnd(10)} ${b.gbPerS.toFixed(1).padStart(6)} GB/s (median of ${b.runs.map((x) => x.toFixed(1)).join(', ')}) ` +
    `→ Motif 2.6B BF16 decode ≤ ${decodeTokensPerSecond(b.gbPerS).toFixed(1)} tok/s`;
  return [`read bandwidth, ${(r.allCores.bytes / 2 ** 30).toFixed(2)} GiB buffer:`, line('1 core', r.oneCore), line(`${r.allCores.threads} cores`, r.allCores)];
}
