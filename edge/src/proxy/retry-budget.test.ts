import { describe, expect, it } from 'vitest';
import { type RetryBudgetOptions, retryBudget } from './retry-budget.ts';

/** `req×N` counts N first attempts, `retry×N` tries N retries, `+ms` moves the clock. */
type Step = `req×${number}` | `retry×${number}` | `+${number}`;

function run(opts: RetryBudgetOptions, steps: Step[]): number[] {
  let t = 1_000_000;
  const b = retryBudget(opts, () => t);
  const granted: number[] = [];
  for (const s of steps) {
    if (s.startsWith('+')) t += Number(s.slice(1));
    else if (s.startsWith('req×')) for (let i = 0; i < Number(s.slice(4)); i++) b.recordRequest();
    else {
      let ok = 0;
      for (let i = 0; i < Number(s.slice(6)); i++) if (b.tryRetry()) ok++;
      granted.push(ok);
    }
  }
  return granted;
}

const TABLE: { name: string; opts: RetryBudgetOptions; steps: Step[]; granted: number[] }[] = [
  { name: 'a quiet edge still gets the floor', opts: {}, steps: ['req×1', 'retry×20'], granted: [10] },
  { name: 'no floor: 20% of first attempts', opts: { minRetries: 0 }, steps: ['req×100', 'retry×50'], granted: [20] },
  { name: 'busy edge: 20% plus the floor', opts: {}, steps: ['req×1000', 'retry×500'], granted: [210] },
  { name: 'spent retries count against the budget', opts: { minRetries: 0 }, steps: ['req×10', 'retry×1', 'retry×5'], granted: [1, 1] },
  { name: 'new traffic buys new retries', opts: { minRetries: 0 }, steps: ['req×10', 'retry×5', 'req×10', 'retry×5'], granted: [2, 2] },
  { name: 'the window forgets old requests', opts: { minRetries: 0 }, steps: ['req×100', '+10000', 'retry×5'], granted: [0] },
  { name: 'and old retries', opts: { minRetries: 2 }, steps: ['retry×5', '+10000', 'retry×5'], granted: [2, 2] },
  { name: 'it slides by bucket, not all at once', opts: { minRetries: 0 }, steps: ['req×50', '+5000', 'req×50', '+5000', 'retry×50'], granted: [10] },
  { name: 'ratio 0 leaves only the floor', opts: { ratio: 0, minRetries: 3 }, steps: ['req×1000', 'retry×10'], granted: [3] },
];

describe('retry budget', () => {
  it.each(TABLE)('$name', ({ opts, steps, granted }) => {
    expect(run(opts, steps)).toEqual(granted);
  });

  it('retry-after is the time until the window next slides', () => {
    let t = 10_250;
    const b = retryBudget({}, () => t);
    expect(b.retryAfterMs()).toBe(750);
    t = 11_000;
    expect(b.retryAfterMs()).toBe(1000);
  });

  it.each([
    { name: 'ratio above 1', opts: { ratio: 1.5 } },
    { name: 'negative floor', opts: { minRetries: -1 } },
    { name: 'zero buckets', opts: { buckets: 0 } },
    { name: 'window shorter than its buckets', opts: { windowMs: 5, buckets: 10 } },
  ])('rejects $name at construction', ({ opts }) => {
    expect(() => retryBudget(opts, () => 0)).toThrow(/retryBudget/);
  });
});
