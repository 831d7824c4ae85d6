/**
 * Our engine against llama.cpp on the same workloads, in alternating rounds (ours then the peer
 * in odd rounds, the other way round in even ones), so load from other processes falls on both
 * alike. The workloads are the issue's: prefill of 128 and 512 tokens, decode at batch 1 and the
 * aggregate of 16 sequences, each at a 128-token context. Pure apart from the engines it is given.
 */

export interface Workload {
  name: string;
  kind: 'prefill' | 'decode';
  /** Prompt tokens (prefill) or context (decode). */
  tokens: number;
  batch: number;
}

export const PEER_WORKLOADS: readonly Workload[] = [
  { name: 'prefill, 128-token prompt', kind: 'prefill', tokens: 128, batch: 1 },
  { name: 'prefill, 512-token prompt', kind: 'prefill', tokens: 512, batch: 1 },
  { name: 'decode batch 1, context 128', kind: 'decode', tokens: 128, batch: 1 },
  { name: 'decode 16 sequences, aggregate', kind: 'decode', tokens: 128, batch: 16 },
];

/** An engine under test: tokens per second of one run of a workload. */
export type RunWorkload = (w: Workload) => Promise<number>;

export interface WorkloadResult {
  workload: Workload;
  /** tokens/s per round. */
  ours: number[];
  peer: number[];
}

/** Run every workload `rounds` times on both engines, alternating which goes first. */
export async function runAlternating(ours: RunWorkload, peer: RunWorkload, workloads: readonly Workload[], rounds: number): Promise<WorkloadResult[]> {
  const results = workloads.map((workload) => ({ workload, ours: [] as number[], peer: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (const res of results) {
      const order = r % 2 === 0 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const);
      for (const side of order) res[side].push(await (side === 'ours' ? ours : peer)(res.workload));
    }
  }
  return results;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Rows of the comparison table: every round's ratio, then the medians. */
export function comparisonRows(results: readonly WorkloadResult[]): string[][] {
  const rows = [['workload', 'ours tok/s', 'llama.cpp tok/s', 'ours / llama.cpp', 'per round']];
  for (const r of results) {
    const ratios = r.ours.map((o, i) => o / r.peer[i]!);
    rows.push([
      r.workload.name,
      median(r.ours).toFixed(1),
      median(r.peer).toFixed(1),
      `${(median(r.ours) / median(r.peer)).toFixed(2)}×`,
      ratios.map((x) => `${x.toFixed(2)}×`).join(' '),
    ]);
  }
  const b1 = results.find((r) => r.workload.kind === 'decode' && r.workload.batch === 1);
  const b16 = results.find((r) => r.workload.kind === 'decode' && r.workload.batch === 16);
  if (b1 && b16) {
    rows.push([
      '16 sequences vs batch 1',
      `${(median(b16.ours) / median(b1.ours)).toFixed(2)}×`,
      `${(median(b16.peer) / median(b1.peer)).toFixed(2)}×`,
      '',
      '',
    ]);
  }
  return rows;
}
