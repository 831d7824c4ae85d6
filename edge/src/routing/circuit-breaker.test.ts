import { describe, expect, it } from 'vitest';
import { type CircuitBreakerOptions, type CircuitPermit, type CircuitState, circuitBreaker } from './circuit-breaker.ts';

/**
 * One step against replica `a`: a request that fails, succeeds or is aborted by us (`fail`, `ok`,
 * `abort`), the clock moving (`+ms`), or a request sent and left open (`send`, settled later by
 * `late-ok`/`late-fail`). Each request step logs whether the breaker let it through.
 */
type Step = 'fail' | 'ok' | 'abort' | 'send' | 'late-ok' | 'late-fail' | `+${number}`;

function run(opts: CircuitBreakerOptions, steps: Step[]) {
  let t = 1_000_000;
  const b = circuitBreaker(opts, () => t);
  const log: string[] = [];
  const open: CircuitPermit[] = [];
  for (const s of steps) {
    if (s.startsWith('+')) {
      t += Number(s.slice(1));
      continue;
    }
    if (s === 'late-ok' || s === 'late-fail') {
      const p = open.shift()!;
      if (s === 'late-ok') p.success();
      else p.failure();
      continue;
    }
    const p = b.acquire('a');
    log.push(p ? 'sent' : 'held');
    if (!p) continue;
    if (s === 'fail') p.failure();
    else if (s === 'ok') p.success();
    else if (s === 'abort') p.release();
    else open.push(p);
  }
  return { log, state: b.state('a'), waitMs: b.waitMs('a') };
}

const th3 = { failureThreshold: 3, cooldownMs: 1000, maxCooldownMs: 4000 };

const TABLE: { name: string; opts: CircuitBreakerOptions; steps: Step[]; log: string[]; state: CircuitState; waitMs: number }[] = [
  { name: 'fresh replica is closed', opts: th3, steps: [], log: [], state: 'closed', waitMs: 0 },
  { name: 'failures below the threshold stay closed', opts: th3, steps: ['fail', 'fail'], log: ['sent', 'sent'], state: 'closed', waitMs: 0 },
  { name: 'the threshold opens it', opts: th3, steps: ['fail', 'fail', 'fail'], log: ['sent', 'sent', 'sent'], state: 'open', waitMs: 1000 },
  {
    name: 'a success resets the count (consecutive)',
    opts: th3,
    steps: ['fail', 'fail', 'ok', 'fail', 'fail'],
    log: Array(5).fill('sent'),
    state: 'closed',
    waitMs: 0,
  },
  { name: 'our own abort does not count', opts: th3, steps: ['fail', 'fail', 'abort', 'abort'], log: Array(4).fill('sent'), state: 'closed', waitMs: 0 },
  {
    name: 'open holds requests back',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+999', 'ok'],
    log: ['sent', 'sent', 'sent', 'held'],
    state: 'open',
    waitMs: 1,
  },
  { name: 'half-open after the cooldown', opts: th3, steps: ['fail', 'fail', 'fail', '+1000'], log: ['sent', 'sent', 'sent'], state: 'half-open', waitMs: 0 },
  {
    name: 'half-open lets exactly one probe through',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'send', 'ok', 'ok'],
    log: ['sent', 'sent', 'sent', 'sent', 'held', 'held'],
    state: 'half-open',
    waitMs: 1000,
  },
  {
    name: 'a successful probe closes it',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'ok', 'ok'],
    log: Array(5).fill('sent'),
    state: 'closed',
    waitMs: 0,
  },
  {
    name: 'a closed-again circuit needs the full threshold to reopen',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'ok', 'fail', 'fail'],
    log: Array(6).fill('sent'),
    state: 'closed',
    waitMs: 0,
  },
  {
    name: 'a failed probe reopens it for twice the cooldown',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'fail'],
    log: Array(4).fill('sent'),
    state: 'open',
    waitMs: 2000,
  },
  {
    name: 'the cooldown grows up to its cap',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'fail', '+2000', 'fail', '+4000', 'fail'],
    log: Array(6).fill('sent'),
    state: 'open',
    waitMs: 4000,
  },
  {
    name: 'closing resets the cooldown to its base',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'fail', '+2000', 'ok', 'fail', 'fail', 'fail'],
    log: Array(8).fill('sent'),
    state: 'open',
    waitMs: 1000,
  },
  {
    name: 'an aborted probe gives the slot back',
    opts: th3,
    steps: ['fail', 'fail', 'fail', '+1000', 'abort', 'ok'],
    log: Array(5).fill('sent'),
    state: 'closed',
    waitMs: 0,
  },
  {
    name: 'a probe unanswered past its timeout no longer holds the slot, and its late answer is ignored',
    opts: { ...th3, probeTimeoutMs: 500 },
    steps: ['fail', 'fail', 'fail', '+1000', 'send', '+500', 'fail', 'late-ok'],
    log: Array(5).fill('sent'),
    state: 'open',
    waitMs: 2000,
  },
  {
    name: 'a request sent before the circuit opened does not decide it',
    opts: th3,
    steps: ['send', 'fail', 'fail', 'fail', 'late-ok'],
    log: Array(4).fill('sent'),
    state: 'open',
    waitMs: 1000,
  },
  {
    name: 'nor does a late failure extend the cooldown',
    opts: th3,
    steps: ['send', 'fail', 'fail', 'fail', '+500', 'late-fail'],
    log: Array(4).fill('sent'),
    state: 'open',
    waitMs: 500,
  },
  {
    name: 'failures spread past forgetAfterMs are forgotten',
    opts: { ...th3, forgetAfterMs: 5000 },
    steps: ['fail', 'fail', '+5001', 'fail'],
    log: Array(3).fill('sent'),
    state: 'closed',
    waitMs: 0,
  },
  {
    name: 'defaults: five failures open it for 5 s',
    opts: {},
    steps: ['fail', 'fail', 'fail', 'fail', 'fail'],
    log: Array(5).fill('sent'),
    state: 'open',
    waitMs: 5000,
  },
];

describe('circuit breaker', () => {
  it.each(TABLE)('$name', ({ opts, steps, log, state, waitMs }) => {
    expect(run(opts, steps)).toEqual({ log, state, waitMs });
  });

  it('keeps circuits per replica', () => {
    const b = circuitBreaker({ failureThreshold: 1 }, () => 0);
    b.acquire('a')!.failure();
    expect([b.state('a'), b.state('b'), b.acquire('b') !== undefined]).toEqual(['open', 'closed', true]);
  });

  it('a permit settles once', () => {
    const b = circuitBreaker({ failureThreshold: 2 }, () => 0);
    const p = b.acquire('a')!;
    p.failure();
    p.failure();
    expect(b.state('a')).toBe('closed');
  });

  it('remembers at most maxEntries replicas, dropping the least recently touched', () => {
    const b = circuitBreaker({ failureThreshold: 1, maxEntries: 2 }, () => 0);
    for (const id of ['a', 'b', 'c']) b.acquire(id)!.failure();
    expect(['a', 'b', 'c'].map((id) => b.state(id))).toEqual(['closed', 'open', 'open']);
  });

  it.each([
    { name: 'zero threshold', opts: { failureThreshold: 0 } },
    { name: 'fractional cooldown', opts: { cooldownMs: 1.5 } },
    { name: 'cap below the cooldown', opts: { cooldownMs: 2000, maxCooldownMs: 1000 } },
    { name: 'forgetting an open circuit', opts: { forgetAfterMs: 1000 } },
  ])('rejects $name at construction', ({ opts }) => {
    expect(() => circuitBreaker(opts, () => 0)).toThrow(/circuitBreaker/);
  });
});
