/**
 * The pure half of `npm run bench:cache`: latency summaries of misses and hits, their ratios,
 * the coalescing table, the verdict line, and reading a counter out of Prometheus text. No I/O,
 * so the unit test checks it on hand-made numbers.
 */
import { formatColumns, type LatencySummary, summarize } from '../edge/stats.ts';

export { summarize };

/** Misses and hits of one request shape (non-stream or stream), in ms. */
export interface PairPhase {
  label: string;
  /** Tokens each request generated (the miss's cost grows with it; the hit's does not). */
  tokens: number;
  stream: boolean;
  miss: LatencySummary;
  hit: LatencySummary;
}

/** One coalescing run: K concurrent identical requests. */
export interface CoalesceRun {
  k: number;
  /** Generations the origin answered during the run (its request counter's delta). */
  originCalls: number;
  misses: number;
  hits: number;
  /** Answers that were not 200 or whose text differed from the first. */
  bad: number;
  wallMs: number;
}

/** The bar: a hit at least this many times faster than a miss (p50) on the tiny model. */
export const HIT_SPEEDUP_TARGET = 10;
/** The answer length the bar is checked at: a short chat answer (README, "Response cache"). */
export const TARGET_TOKENS = 128;

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}×` : 'n/a');

/** The latency table: miss and hit p50/p99 per phase and the miss/hit ratios. */
export function latencyTable(phases: readonly PairPhase[]): string[] {
  const rows: string[][] = [['', 'n', 'miss p50 (ms)', 'hit p50 (ms)', 'p50 ratio', 'miss p99 (ms)', 'hit p99 (ms)', 'p99 ratio']];
  for (const p of phases) {
    rows.push([
      p.label,
      String(p.hit.count),
      ms(p.miss.p50),
      ms(p.hit.p50),
      times(p.miss.p50 / p.hit.p50),
      ms(p.miss.p99),
      ms(p.hit.p99),
      times(p.miss.p99 / p.hit.p99),
    ]);
  }
  return formatColumns(rows);
}

/**
 * The edge's floor beside the hits: an authenticated request admitted by limits and answered
 * without any origin (an unknown model's 404), i.e. what every request pays before the cache.
 */
export function floorLine(floor: LatencySummary, phases: readonly PairPhase[]): string {
  const hits = phases.filter((p) => !p.stream).map((p) => `${ms(p.hit.p50)} ms at ${p.tokens} tokens`);
  return `edge floor (auth + limits + pool, no origin: an unknown model's 404): p50 ${ms(floor.p50)} ms, p99 ${ms(floor.p99)} ms; non-stream hit p50 ${hits.join(', ')}`;
}

/** The coalescing table: K, origin calls, MISS/HIT answers, failures, wall time. */
export function coalesceTable(runs: readonly CoalesceRun[]): string[] {
  const rows: string[][] = [['K concurrent identical', 'origin calls', 'MISS', 'HIT', 'bad', 'wall (ms)']];
  for (const r of runs) rows.push([String(r.k), String(r.originCalls), String(r.misses), String(r.hits), String(r.bad), ms(r.wallMs)]);
  return formatColumns(rows);
}

/**
 * The last line: the non-stream hit speed-up at each answer length, the target checked at every
 * one of them, and the origin calls of the largest K.
 */
export function verdict(phases: readonly PairPhase[], runs: readonly CoalesceRun[]): string {
  const plain = phases.filter((p) => !p.stream);
  const speedups = plain.map((p) => `${times(p.miss.p50 / p.hit.p50)} at ${p.tokens} tokens`).join(', ');
  const met = plain.length === 0 ? 'not measured' : plain.every((p) => p.miss.p50 / p.hit.p50 >= HIT_SPEEDUP_TARGET) ? 'met' : 'NOT met';
  const largest = runs.reduce<CoalesceRun | undefined>((a, r) => (!a || r.k > a.k ? r : a), undefined);
  const coalesced = largest ? `, K=${largest.k} concurrent → ${largest.originCalls} origin call${largest.originCalls === 1 ? '' : 's'}` : '';
  return `cache: hit p50 faster than miss ${speedups} (target ≥ ${HIT_SPEEDUP_TARGET}× at every length: ${met})${coalesced}`;
}

/** The sum of every sample of `name` in Prometheus exposition text (all label sets). */
export function counterSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
