import { describe, expect, it } from 'vitest';
import type { BandwidthOptions, KernelsAddon } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { decodeTokensPerSecond, formatRoofline, MOTIF_2_6B_BF16_BYTES_PER_TOKEN, measureRoofline } from './measure.ts';

// A stand-in for the addon that records the requests and answers with fixed figures.
function fakeAddon(threads: number, gbPerS: (t: number) => number) {
  const calls: BandwidthOptions[] = [];
  const addon = {
    info: { simd: 'avx2', threads, maxThreads: 0, arch: 'x64', path: 'fake' },
    async readBandwidth(o: BandwidthOptions = {}) {
      calls.push(o);
      const t = o.threads ?? threads;
      return { gbPerS: gbPerS(t), runs: [gbPerS(t)], bytes: o.bytes ?? 2 ** 30, threads: t };
    },
  } as unknown as KernelsAddon;
  return { addon, calls };
}

describe('roofline', () => {
  it('measures one core and every core of the pool with a 1 GiB buffer by default', async () => {
    const { addon, calls } = fakeAddon(4, (t) => 20 * Math.sqrt(t));
    const r = await measureRoofline(addon);
    expect(calls).toEqual([
      { bytes: 2 ** 30, runs: 5, threads: 1 },
      { bytes: 2 ** 30, runs: 5, threads: 4 },
    ]);
    expect(r.oneCore.gbPerS).toBe(20);
    expect(r.allCores.gbPerS).toBe(40);
    const lines = formatRoofline(r);
    expect(lines[1]).toMatch(/^1 core +20\.0 GB\/s .* ≤ 3\.8 tok\/s$/);
    expect(lines[2]).toMatch(/^4 cores +40\.0 GB\/s .* ≤ 7\.7 tok\/s$/);
  });

  it('turns bandwidth into a batch-1 decode bound', () => {
    expect(MOTIF_2_6B_BF16_BYTES_PER_TOKEN).toBe(5.2e9);
    expect(decodeTokensPerSecond(52)).toBeCloseTo(10, 10);
    expect(decodeTokensPerSecond(10, 1e9)).toBeCloseTo(10, 10);
  });
});
