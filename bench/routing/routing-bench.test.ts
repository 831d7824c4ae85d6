/**
 * bench:routing's pure parts: the workload plans, the figures and the verdicts against the
 * issue's targets, the summary line and the flags. (The real run needs a pool of processes:
 * `npm run bench:routing`.)
 */
import { describe, expect, it } from 'vitest';
import type { TurnResult } from './client.ts';
import { parseRoutingArgs } from './options.ts';
import { figures, type RunFigures, summaryLine, verdicts } from './report.ts';
import { DEFAULT_WORKLOAD, planWorkload, turnMessages } from './workload.ts';

const small = { ...DEFAULT_WORKLOAD, sessions: 8, turns: 3, systemPrompts: 2 };

describe('workload plans', () => {
  it('are the same on every call (every profile gets the same requests)', () => {
    expect(planWorkload('shared', small)).toEqual(planWorkload('shared', small));
    expect(planWorkload('unique', small)).toEqual(planWorkload('unique', small));
  });

  it('shared: sessions share a few system prompts, and user turns never repeat', () => {
    const plan = planWorkload('shared', small);
    expect(plan).toHaveLength(8);
    expect(new Set(plan.map((s) => s.system)).size).toBe(2);
    const turns = plan.flatMap((s) => s.userTurns);
    expect(new Set(turns).size).toBe(turns.length);
    expect(plan[0]!.system.length).toBe(small.systemBytes);
  });

  it('unique: as many requests as shared, none sharing a system prompt, sizes growing like the shared histories', () => {
    const plan = planWorkload('unique', small);
    expect(plan).toHaveLength(small.sessions * small.turns);
    expect(new Set(plan.map((s) => s.system)).size).toBe(plan.length);
    expect(plan.every((s) => s.userTurns.length === 1)).toBe(true);
    expect(plan[2]!.system.length).toBeGreaterThan(plan[0]!.system.length);
  });

  it('a turn sends the whole conversation so far, answers included, then the new message', () => {
    const [s] = planWorkload('shared', small);
    const msgs = turnMessages(s!, 2, ['answer 0', 'answer 1']);
    expect(msgs.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(msgs[2]!.content).toBe('answer 0');
    expect(msgs[5]!.content).toBe(s!.userTurns[2]);
    // Each turn's prompt begins with the previous turn's prompt: what a prefix cache can reuse.
    const prev = turnMessages(s!, 1, ['answer 0']);
    expect(msgs.slice(0, prev.length - 1)).toEqual(prev.slice(0, -1));
  });
});

const turn = (o: Partial<TurnResult> = {}): TurnResult => ({
  ok: true,
  ttftMs: 10,
  totalMs: 100,
  promptTokens: 100,
  cachedTokens: 50,
  completionTokens: 32,
  ...o,
});

describe('figures', () => {
  it('rates, percentiles and the hit rate over successful turns; failures counted apart', () => {
    const results = [...Array.from({ length: 99 }, (_, i) => turn({ ttftMs: i + 1 })), turn({ ttftMs: 1000 }), turn({ ok: false, ttftMs: Number.NaN })];
    const f = figures('shared', 'default', results, 10_000);
    expect(f).toMatchObject({ requests: 101, failed: 1, reqPerS: 10, tokPerS: 320, ttftP50: 50, ttftP99: 99, hitRate: 0.5 });
  });
});

const row = (workload: RunFigures['workload'], profile: RunFigures['profile'], o: Partial<RunFigures>): RunFigures => ({
  workload,
  profile,
  requests: 100,
  failed: 0,
  wallS: 10,
  reqPerS: 10,
  tokPerS: 320,
  ttftP50: 50,
  ttftP99: 200,
  hitRate: 0.3,
  ...o,
});

describe('verdicts and the summary line', () => {
  const rows = [
    row('shared', 'round-robin', { ttftP99: 400, hitRate: 0.3 }),
    row('shared', 'default', { ttftP99: 180, hitRate: 0.75 }),
    row('unique', 'least-loaded', { reqPerS: 10 }),
    row('unique', 'default', { reqPerS: 9.5 }),
  ];

  it.each([
    { name: 'all met', rows, met: [true, true, true, true] },
    {
      name: 'TTFT not halved',
      rows: rows.map((r) => (r.profile === 'default' && r.workload === 'shared' ? { ...r, ttftP99: 201 } : r)),
      met: [false, true, true, true],
    },
    {
      name: 'unique throughput 12% off',
      rows: rows.map((r) => (r.profile === 'default' && r.workload === 'unique' ? { ...r, reqPerS: 11.2 } : r)),
      met: [true, true, false, true],
    },
    { name: 'a failed request anywhere', rows: rows.map((r, i) => (i === 0 ? { ...r, failed: 1 } : r)), met: [true, true, true, false] },
    { name: 'a baseline missing is never met', rows: rows.slice(1), met: [false, false, true, true] },
  ])('$name', ({ rows: rs, met }) => {
    expect(verdicts(rs).map((v) => v.met)).toEqual(met);
  });

  it('prints the two ratios in the fixed form', () => {
    expect(summaryLine(rows)).toBe('routing: default p99 TTFT = 0.45× round-robin, prefix hit rate = 2.50× round-robin');
    expect(summaryLine([])).toBe('routing: default p99 TTFT = NaN× round-robin, prefix hit rate = NaN× round-robin');
  });
});

describe('flags', () => {
  it.each([
    { argv: [], want: { replicas: 8, clients: 32 } },
    { argv: ['--quick'], want: { replicas: 4, clients: 12 } },
    { argv: ['--replicas', '6', '--sessions', '10'], want: { replicas: 6, workload: expect.objectContaining({ sessions: 10 }) } },
  ])('$argv', ({ argv, want }) => {
    expect(parseRoutingArgs(argv)).toMatchObject(want);
  });

  it.each([['--replicas', '0'], ['--clients', 'x'], ['--fast']])('refuses %s %s', (...argv) => {
    expect(() => parseRoutingArgs(argv.filter((a): a is string => a !== undefined))).toThrow();
  });
});
