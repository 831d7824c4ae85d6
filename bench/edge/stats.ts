/**
 * The pure half of `npm run bench:edge`: latency summaries, the comparison of the edge against
 * the direct baseline (added latency, ratios, the targets) and the printed tables.
 * No I/O here, so the smoke test can check it on hand-made numbers.
 */
import { median } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';

/** Latencies of one phase, in ms. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** The `p`-th percentile (0–100) of a list, nearest rank (a p99 is a latency some request saw). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in 0..100, got ${p}`);
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1]!;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  return {
    count: latenciesMs.length,
    p50: percentile(latenciesMs, 50),
    p99: percentile(latenciesMs, 99),
    max: latenciesMs.length ? Math.max(...latenciesMs) : Number.NaN,
  };
}

/** What one target (direct or through the edge) measured in one round. */
export interface PathRound {
  /** Non-stream, 1 connection. */
  c1: LatencySummary;
  /** Non-stream, N connections (closed loop: each connection sends its next request when the last ends). */
  cN: LatencySummary & { rps: number };
  /** Stream, 1 connection: time to the first body byte. */
  ttfb: LatencySummary;
  errors: number;
}

/** The edge process during the edge's phases of one round. */
export interface EdgeRound {
  cpuUsPerReqC1: number;
  cpuUsPerReqCN: number;
  /** Edge CPU time over wall time during the N-connection phase (1.0 = one core busy). */
  coreBusyCN: number;
  /** Share of the N-connection phase the edge's event loop was runnable but waiting for a CPU (other processes had it). */
  starvedCN: number;
  rssMb: number;
  /** Upstream + client CPU over wall time during the edge's N-connection phase (they share a core when pinned). */
  loadSideBusyCN: number;
  /**
   * The upstream's CPU per request in the direct N-connection phase: a lean node:http server that
   * verifies one signature and meters, on this machine, now; a yardstick for the edge's figure.
   */
  upstreamUsPerReqCN: number;
  /** CPU per request of the bare node:http proxy (floor-proxy.ts) at N connections, same core. */
  floorUsPerReqCN: number;
  /**
   * What the bare proxy adds at 1 connection (p50, p99 over the direct path, ms): the part of the
   * edge's added latency that two more loopback hops and wake-ups of the edge's core cost here.
   */
  floorAddedC1: { p50: number; p99: number };
}

export interface Round {
  direct: PathRound;
  edge: PathRound;
  proc: EdgeRound;
}

/** The targets for the edge, and what was reported before this bench existed. */
export const TARGETS = {
  addedP50C1Ms: 0.3,
  addedP99C1Ms: 2,
  rpsCN: 4000,
  addedTtfbMs: 1,
} as const;
export const REPORTED_BEFORE = { addedP50C1Ms: 1.14, addedP99C1Ms: 61, rpsCN: 1064, cpuUsPerReq: 940 } as const;

export interface Comparison {
  label: string;
  direct: number;
  edge: number;
  /** edge − direct (latencies); NaN for rates. */
  added: number;
  /** edge / direct. */
  ratio: number;
  unit: 'ms' | 'req/s';
  target?: { text: string; met: boolean };
  before?: string;
}

const fmtAdded = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)} ms`;

/** Edge against direct for one round's (or the medians') figures, with the targets. */
export function compare(direct: PathRound, edge: PathRound, connections: number): Comparison[] {
  const lat = (label: string, d: number, e: number, target?: number, before?: number): Comparison => ({
    label,
    direct: d,
    edge: e,
    added: e - d,
    ratio: e / d,
    unit: 'ms',
    target: target === undefined ? undefined : { text: `added ≤ ${target} ms`, met: e - d <= target },
    before: before === undefined ? undefined : fmtAdded(before),
  });
  return [
    lat('non-stream, 1 conn, p50', direct.c1.p50, edge.c1.p50, TARGETS.addedP50C1Ms, REPORTED_BEFORE.addedP50C1Ms),
    lat('non-stream, 1 conn, p99', direct.c1.p99, edge.c1.p99, TARGETS.addedP99C1Ms, REPORTED_BEFORE.addedP99C1Ms),
    lat(`non-stream, ${connections} conn, p50`, direct.cN.p50, edge.cN.p50),
    lat(`non-stream, ${connections} conn, p99`, direct.cN.p99, edge.cN.p99),
    {
      label: `non-stream, ${connections} conn, throughput`,
      direct: direct.cN.rps,
      edge: edge.cN.rps,
      added: Number.NaN,
      ratio: edge.cN.rps / direct.cN.rps,
      unit: 'req/s',
      target: { text: `≥ ${TARGETS.rpsCN.toLocaleString('en-US')} req/s`, met: edge.cN.rps >= TARGETS.rpsCN },
      before: `${REPORTED_BEFORE.rpsCN.toLocaleString('en-US')} req/s`,
    },
    lat('stream, 1 conn, TTFB p50', direct.ttfb.p50, edge.ttfb.p50, TARGETS.addedTtfbMs),
    lat('stream, 1 conn, TTFB p99', direct.ttfb.p99, edge.ttfb.p99),
  ];
}

/** Per-field medians over rounds (each round's figure is one sample). */
export function medianRound(rounds: readonly Round[]): Round {
  if (rounds.length === 0) throw new RangeError('medianRound: no rounds');
  const m = (f: (r: Round) => number) => median(rounds.map(f));
  const lat = (f: (r: Round) => LatencySummary): LatencySummary => ({
    count: m((r) => f(r).count),
    p50: m((r) => f(r).p50),
    p99: m((r) => f(r).p99),
    max: m((r) => f(r).max),
  });
  const path = (side: 'direct' | 'edge'): PathRound => ({
    c1: lat((r) => r[side].c1),
    cN: { ...lat((r) => r[side].cN), rps: m((r) => r[side].cN.rps) },
    ttfb: lat((r) => r[side].ttfb),
    errors: rounds.reduce((n, r) => n + r[side].errors, 0),
  });
  return {
    direct: path('direct'),
    edge: path('edge'),
    proc: {
      cpuUsPerReqC1: m((r) => r.proc.cpuUsPerReqC1),
      cpuUsPerReqCN: m((r) => r.proc.cpuUsPerReqCN),
      coreBusyCN: m((r) => r.proc.coreBusyCN),
      starvedCN: m((r) => r.proc.starvedCN),
      rssMb: m((r) => r.proc.rssMb),
      loadSideBusyCN: m((r) => r.proc.loadSideBusyCN),
      upstreamUsPerReqCN: m((r) => r.proc.upstreamUsPerReqCN),
      floorUsPerReqCN: m((r) => r.proc.floorUsPerReqCN),
      floorAddedC1: { p50: m((r) => r.proc.floorAddedC1.p50), p99: m((r) => r.proc.floorAddedC1.p99) },
    },
  };
}

/** Columns padded to their widest cell: text columns (`left`, default the first) left-aligned, numbers right-aligned. */
export function formatColumns(rows: readonly (readonly string[])[], opts: { indent?: string; left?: readonly number[] } = {}): string[] {
  const indent = opts.indent ?? '  ';
  const left = new Set(opts.left ?? [0]);
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const pad = (cell: string, i: number) => (left.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!));
  return rows.map((r) => `${indent}${r.map(pad).join('  ')}`.trimEnd());
}

const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const cell = (x: number, unit: Comparison['unit']) => (unit === 'ms' ? num(x, 3) : num(x, 0));

/** The comparison table: direct, via the edge, added, ratio, target (met or not), reported before. */
export function comparisonTable(rows: readonly Comparison[]): string[] {
  return formatColumns(
    [
      ['', 'direct', 'via edge', 'added', 'edge/direct', 'target', '', 'reported before'],
      ...rows.map((c) => [
        `${c.label} (${c.unit})`,
        cell(c.direct, c.unit),
        cell(c.edge, c.unit),
        Number.isNaN(c.added) ? '' : fmtAdded(c.added),
        `${num(c.ratio, 2)}×`,
        c.target?.text ?? '',
        c.target ? (c.target.met ? 'met' : 'NOT MET') : '',
        c.before ?? '',
      ]),
    ],
    { left: [0, 5, 6] },
  );
}

/** The edge process's figures: CPU per request, how busy its core was, RSS. */
export function processTable(p: EdgeRound, connections: number): string[] {
  return formatColumns(
    [
      [`edge CPU per request, ${connections} conn (µs)`, num(p.cpuUsPerReqCN, 0), `reported before ≈ ${REPORTED_BEFORE.cpuUsPerReq} µs`],
      ['edge CPU per request, 1 conn (µs)', num(p.cpuUsPerReqC1, 0), ''],
      [
        'edge capacity on one core (req/s) = 10^6 / CPU per request',
        num(1e6 / p.cpuUsPerReqCN, 0),
        `what the edge's core can serve when the load side is the bottleneck; target ≥ ${TARGETS.rpsCN.toLocaleString('en-US')} req/s: ${1e6 / p.cpuUsPerReqCN >= TARGETS.rpsCN ? 'met' : 'NOT MET'}`,
      ],
      [`upstream CPU per request, direct, ${connections} conn (µs)`, num(p.upstreamUsPerReqCN, 0), 'yardstick: verify + answer + meter in plain node:http'],
      ['edge CPU per request / upstream’s', `${num(p.cpuUsPerReqCN / p.upstreamUsPerReqCN, 1)}×`, 'steadier than either alone on a loaded machine'],
      [
        `bare node:http proxy, same core, ${connections} conn (µs/req)`,
        num(p.floorUsPerReqCN, 0),
        "the floor: Node's HTTP server + client alone (bench/edge/floor-proxy.ts)",
      ],
      [
        'bare node:http proxy, 1 conn, added p50 / p99 (ms)',
        `+${num(p.floorAddedC1.p50, 2)} / +${num(p.floorAddedC1.p99, 2)}`,
        'what any proxy process adds here: two loopback hops and the wake-ups of its core',
      ],
      ['edge CPU per request / bare proxy’s', `${num(p.cpuUsPerReqCN / p.floorUsPerReqCN, 2)}×`, 'what auth, limits, signing, routing and metering add'],
      [`edge core busy, ${connections} conn`, `${num(100 * p.coreBusyCN, 0)}%`, '100% = the edge saturated its core'],
      [
        `edge waiting for a CPU, ${connections} conn`,
        `${num(100 * p.starvedCN, 0)}%`,
        "of the phase: runnable while other processes had the core (the machine's noise)",
      ],
      [`upstream + client busy, ${connections} conn`, `${num(100 * p.loadSideBusyCN, 0)}%`, 'of one core; near 100% = the load side limits req/s'],
      ['edge RSS after the round (MB)', num(p.rssMb, 1), ''],
    ],
    { left: [0, 2] },
  );
}

/** One line per round and side: every run is shown, not only the medians. */
export function roundsTable(rounds: readonly Round[], connections: number): string[] {
  const rows: string[][] = [
    [
      'round',
      'path',
      'c1 p50',
      'c1 p99',
      `c${connections} p50`,
      `c${connections} p99`,
      `c${connections} req/s`,
      'TTFB p50',
      'TTFB p99',
      'requests',
      'errors',
      'edge µs/req',
    ],
  ];
  rounds.forEach((r, i) => {
    for (const side of ['direct', 'edge'] as const) {
      const s = r[side];
      rows.push([
        String(i + 1),
        side,
        num(s.c1.p50, 3),
        num(s.c1.p99, 3),
        num(s.cN.p50, 3),
        num(s.cN.p99, 3),
        num(s.cN.rps, 0),
        num(s.ttfb.p50, 3),
        num(s.ttfb.p99, 3),
        String(s.c1.count + s.cN.count + s.ttfb.count),
        String(s.errors),
        side === 'edge' ? `${num(r.proc.cpuUsPerReqC1, 0)} / ${num(r.proc.cpuUsPerReqCN, 0)}` : '',
      ]);
    }
  });
  return formatColumns(rows, { left: [0, 1] });
}
