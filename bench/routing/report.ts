/**
 * The routing benchmark's figures (pure): one row per workload × profile, the ratios the issue
 * asks for against the baselines measured in the same run, and the summary line.
 */
import { formatColumns, percentile } from '../edge/stats.ts';
import type { TurnResult } from './client.ts';
import type { WorkloadName } from './workload.ts';

export type ProfileName = 'round-robin' | 'least-loaded' | 'default';

export interface RunFigures {
  workload: WorkloadName;
  profile: ProfileName;
  requests: number;
  failed: number;
  wallS: number;
  reqPerS: number;
  tokPerS: number;
  ttftP50: number;
  ttftP99: number;
  /** Prompt tokens served from replicas' prefix caches / all prompt tokens. */
  hitRate: number;
}

export function figures(workload: WorkloadName, profile: ProfileName, results: readonly TurnResult[], wallMs: number): RunFigures {
  const ok = results.filter((r) => r.ok);
  const ttft = ok.map((r) => r.ttftMs).filter((x) => Number.isFinite(x));
  const prompt = ok.reduce((n, r) => n + r.promptTokens, 0);
  const cached = ok.reduce((n, r) => n + r.cachedTokens, 0);
  const wallS = wallMs / 1000;
  return {
    workload,
    profile,
    requests: results.length,
    failed: results.length - ok.length,
    wallS,
    reqPerS: ok.length / wallS,
    tokPerS: ok.reduce((n, r) => n + r.completionTokens, 0) / wallS,
    ttftP50: percentile(ttft, 50),
    ttftP99: percentile(ttft, 99),
    hitRate: prompt > 0 ? cached / prompt : 0,
  };
}

const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export function figuresTable(rows: readonly RunFigures[]): string[] {
  return formatColumns(
    [
      ['workload', 'profile', 'requests', 'failed', 'wall s', 'req/s', 'tok/s', 'TTFT p50 ms', 'TTFT p99 ms', 'prefix hit'],
      ...rows.map((r) => [
        r.workload,
        r.profile,
        String(r.requests),
        String(r.failed),
        f(r.wallS, 1),
        f(r.reqPerS, 1),
        f(r.tokPerS, 0),
        f(r.ttftP50, 0),
        f(r.ttftP99, 0),
        f(r.hitRate, 3),
      ]),
    ],
    { left: [0, 1] },
  );
}

export interface Verdict {
  name: string;
  value: number;
  target: string;
  met: boolean;
}

const find = (rows: readonly RunFigures[], w: WorkloadName, p: ProfileName) => rows.find((r) => r.workload === w && r.profile === p);

/**
 * The acceptance, from this run's rows: on the shared workload, the default profile's p99
 * TTFT ≤ 0.5× round-robin's and its prefix hit rate ≥ 2× round-robin's; on the unique workload,
 * its throughput within ±10% of least-loaded's. A missing row gives NaN, never met.
 */
export function verdicts(rows: readonly RunFigures[]): Verdict[] {
  const sd = find(rows, 'shared', 'default');
  const srr = find(rows, 'shared', 'round-robin');
  const ud = find(rows, 'unique', 'default');
  const ull = find(rows, 'unique', 'least-loaded');
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN);
  const ttft = ratio(sd?.ttftP99, srr?.ttftP99);
  const hit = ratio(sd?.hitRate, srr?.hitRate);
  const tput = ratio(ud?.reqPerS, ull?.reqPerS);
  const noFailures = rows.every((r) => r.failed === 0);
  return [
    { name: 'shared: default p99 TTFT / round-robin', value: ttft, target: '≤ 0.50', met: ttft <= 0.5 },
    { name: 'shared: default prefix hit rate / round-robin', value: hit, target: '≥ 2.00', met: hit >= 2 },
    { name: 'unique: default req/s / least-loaded', value: tput, target: '0.90–1.10', met: tput >= 0.9 && tput <= 1.1 },
    { name: 'failed requests in every run', value: rows.reduce((n, r) => n + r.failed, 0), target: '0', met: noFailures },
  ];
}

export function verdictTable(vs: readonly Verdict[]): string[] {
  return formatColumns([['check', 'value', 'target', 'met'], ...vs.map((v) => [v.name, f(v.value, 2), v.target, v.met ? 'yes' : 'NO'])], { left: [0, 2, 3] });
}

/** The benchmark's last line (a missing baseline shows as NaN). */
export function summaryLine(rows: readonly RunFigures[]): string {
  const sd = find(rows, 'shared', 'default');
  const srr = find(rows, 'shared', 'round-robin');
  const r = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : 'NaN');
  return `routing: default p99 TTFT = ${r(sd?.ttftP99, srr?.ttftP99)}× round-robin, prefix hit rate = ${r(sd?.hitRate, srr?.hitRate)}× round-robin`;
}
