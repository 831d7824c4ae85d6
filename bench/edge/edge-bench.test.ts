/**
 * bench:edge's pure parts on hand-made numbers: percentiles, the comparison against the targets,
 * medians over rounds, the tables, the profile summary, the flags. (A `--quick` run of the real
 * processes is in test/integration/bench-edge.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.ts';
import { areaOf, type CpuProfile, shortUrl, topSelfTime } from './profile.ts';
import { compare, comparisonTable, formatColumns, medianRound, type PathRound, percentile, processTable, type Round, roundsTable, summarize } from './stats.ts';

const lat = (p50: number, p99: number, count = 100) => ({ count, p50, p99, max: p99 });
const path = (p50: number, rps: number, ttfb: number): PathRound => ({
  c1: lat(p50, p50 * 4),
  cN: { ...lat(p50 * 10, p50 * 20), rps },
  ttfb: lat(ttfb, ttfb * 3),
  errors: 0,
});
const round = (edgeP50: number, edgeRps: number, cpu: number): Round => ({
  direct: path(0.2, 9000, 0.3),
  edge: path(edgeP50, edgeRps, edgeP50 + 0.3),
  proc: {
    cpuUsPerReqC1: cpu * 2,
    cpuUsPerReqCN: cpu,
    coreBusyCN: 0.99,
    starvedCN: 0.1,
    rssMb: 120,
    loadSideBusyCN: 0.4,
    upstreamUsPerReqCN: 150,
    floorUsPerReqCN: 120,
    floorAddedC1: { p50: 0.1, p99: 0.5 },
  },
});

describe('percentile', () => {
  it.each([
    { name: 'median of an odd list', xs: [5, 1, 3], p: 50, want: 3 },
    { name: 'median of an even list is the lower middle (nearest rank)', xs: [4, 1, 3, 2], p: 50, want: 2 },
    { name: 'p99 of 100 values is the 99th', xs: Array.from({ length: 100 }, (_, i) => i + 1), p: 99, want: 99 },
    { name: 'p99 of 10 values is the largest', xs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p: 99, want: 10 },
    { name: 'p0 is the smallest', xs: [3, 2, 9], p: 0, want: 2 },
    { name: 'empty is NaN', xs: [], p: 50, want: Number.NaN },
  ])('$name', ({ xs, p, want }) => {
    expect(percentile(xs, p)).toBe(want);
  });

  it('refuses a p outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarize gives count, p50, p99, max', () => {
    expect(summarize([3, 1, 2])).toEqual({ count: 3, p50: 2, p99: 3, max: 3 });
  });
});

describe('compare', () => {
  it('adds, divides and checks the targets against the edge minus direct', () => {
    const rows = compare(path(0.2, 9000, 0.3), path(0.45, 4100, 0.9), 50);
    const byLabel = Object.fromEntries(rows.map((r) => [r.label, r]));
    const p50 = byLabel['non-stream, 1 conn, p50']!;
    expect(p50.added).toBeCloseTo(0.25);
    expect(p50.ratio).toBeCloseTo(2.25);
    expect(p50.target).toEqual({ text: 'added ≤ 0.3 ms', met: true });
    const rps = byLabel['non-stream, 50 conn, throughput']!;
    expect(rps.added).toBeNaN();
    expect(rps.target?.met).toBe(true);
    expect(byLabel['stream, 1 conn, TTFB p50']!.target?.met).toBe(true);
    // 0.2 ms at 1 conn → p99 0.8 direct, 1.8 via the edge: +1.0 ≤ 2
    expect(byLabel['non-stream, 1 conn, p99']!.target?.met).toBe(true);
  });

  it('a slow edge misses its targets', () => {
    const rows = compare(path(0.2, 9000, 0.3), path(1.4, 1000, 2.5), 50);
    expect(rows.filter((r) => r.target).map((r) => [r.label, r.target!.met])).toEqual([
      ['non-stream, 1 conn, p50', false],
      ['non-stream, 1 conn, p99', false],
      ['non-stream, 50 conn, throughput', false],
      ['stream, 1 conn, TTFB p50', false],
    ]);
  });
});

describe('medianRound', () => {
  it('takes each figure’s median over the rounds and sums the errors', () => {
    const rounds = [round(1, 1000, 900), round(3, 3000, 300), round(2, 2000, 600)];
    rounds[0]!.edge.errors = 2;
    const m = medianRound(rounds);
    expect(m.edge.c1.p50).toBe(2);
    expect(m.edge.cN.rps).toBe(2000);
    expect(m.proc.cpuUsPerReqCN).toBe(600);
    expect(m.edge.errors).toBe(2);
    expect(() => medianRound([])).toThrow(RangeError);
  });
});

describe('tables', () => {
  it('formatColumns pads text left and numbers right', () => {
    expect(
      formatColumns(
        [
          ['a', '1', 'x'],
          ['bbb', '22', 'yy'],
        ],
        { left: [0, 2] },
      ),
    ).toEqual(['  a     1  x', '  bbb  22  yy']);
  });

  it('the comparison, process and rounds tables name every figure', () => {
    const rounds = [round(1.3, 1100, 900), round(1.2, 1000, 950)];
    const m = medianRound(rounds);
    const text = [...comparisonTable(compare(m.direct, m.edge, 50)), ...processTable(m.proc, 50), ...roundsTable(rounds, 50)].join('\n');
    for (const want of [
      'non-stream, 1 conn, p50',
      'non-stream, 50 conn, throughput',
      'stream, 1 conn, TTFB p50',
      'NOT MET',
      '+1.14 ms',
      '1,064 req/s',
      'edge CPU per request',
      'edge RSS',
      'c50 req/s',
    ])
      expect(text).toContain(want);
    expect(roundsTable(rounds, 50)).toHaveLength(1 + 2 * rounds.length);
  });
});

describe('cpu profile', () => {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('sign', 'file:///repo/shared/src/signing.ts', 9) },
      { id: 4, callFrame: frame('dispatch', 'file:///repo/node_modules/hono/dist/compose.js', 4) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    startTime: 1000,
    endTime: 1100,
    // At 1010, 1020, …, 1100: each sample stands for the 10 µs until the next.
    samples: [3, 3, 4, 2, 5, 3, 4, 3, 3, 3],
    timeDeltas: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
  };

  it('ranks self time, idle excluded, inside the windows only', () => {
    const all = topSelfTime(profile, [], 10, '/repo');
    expect(all.windowed).toBe(false);
    expect(all.top[0]).toMatchObject({ name: 'sign', location: 'shared/src/signing.ts:10' });
    expect(all.top.map((f) => f.name)).not.toContain('(idle)');
    expect(all.busyMs).toBeCloseTo(0.08); // 9 busy samples, the last has no successor

    const early = topSelfTime(profile, [[1005, 1035]], 10, '/repo');
    expect(early.windowed).toBe(true);
    expect(early.top.map((f) => [f.name, f.selfMs])).toEqual([
      ['sign', 0.02],
      ['dispatch', 0.01],
    ]);
    expect(early.areas.map((a) => a.area)).toEqual(['shared/src', 'hono']);
  });

  it('windows off the profile’s clock fall back to the whole profile', () => {
    expect(topSelfTime(profile, [[5, 6]]).windowed).toBe(false);
  });

  it.each([
    ['a repo file', 'sign', 'edge/src/proxy/upstream.ts:3', 'edge/src/proxy'],
    ['a scoped package', 'f', 'node_modules/@hono/node-server/dist/index.mjs:1', '@hono/node-server'],
    ['a Node subsystem', 'step', 'node:internal/webstreams/readablestream:1', 'node:internal/webstreams'],
    ["Node's bundled undici", 'x', 'node:internal/deps/undici/undici:9', 'node:internal/deps/undici'],
    ['V8', '(garbage collector)', '', '(garbage collector)'],
  ])('areaOf: %s', (_, name, location, want) => {
    expect(areaOf(name, location)).toBe(want);
  });

  it('shortUrl keeps repo paths relative and packages from node_modules on', () => {
    expect(shortUrl('file:///r/edge/src/app.ts', '/r')).toBe('edge/src/app.ts');
    expect(shortUrl('file:///r/node_modules/hono/dist/x.js', '/r')).toBe('node_modules/hono/dist/x.js');
    expect(shortUrl('node:internal/crypto/util', '/r')).toBe('node:internal/crypto/util');
  });
});

describe('flags', () => {
  it.each([
    { argv: [], want: { quick: false, rounds: 3, phaseMs: 3000, connections: 50, cpuProf: false, pin: true } },
    { argv: ['--quick'], want: { quick: true, rounds: 1, phaseMs: 300 } },
    {
      argv: ['--rounds', '5', '--phase-ms', '1000', '--connections', '20', '--cpu-prof', '--no-pin'],
      want: { rounds: 5, phaseMs: 1000, connections: 20, cpuProf: true, pin: false },
    },
  ])('$argv', ({ argv, want }) => {
    expect(parseBenchArgs(argv)).toMatchObject(want);
  });

  it.each([
    [['--rounds', '0'], '--rounds'],
    [['--connections', 'many'], '--connections'],
    [['--phase-ms', '10'], '--phase-ms'],
  ])('%j names the bad flag', (argv, flag) => {
    expect(() => parseBenchArgs(argv)).toThrow(flag);
  });
});
