import { describe, expect, it } from 'vitest';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { admit, charge, limitRules } from '../middleware/limits/policy.ts';
import { initLimits, limitsLoad, limitsSave } from './sql-limits.ts';

describe('limiter state in SQL', () => {
  it('a state saved and loaded again gives the same decisions (spent requests and token debt kept)', () => {
    const { db } = openSqlite(':memory:');
    initLimits(db);
    expect(limitsLoad(db)).toEqual({});
    const rules = limitRules({ requestsPerMinute: 2, tokensPerMinute: 100 });
    const now = 1_000_000;
    let state = limitsLoad(db);
    for (const step of [() => admit(state, now, rules).state, () => charge(state, 500, now, rules)]) {
      const next = step();
      limitsSave(db, state, next);
      state = next;
    }
    const reloaded = limitsLoad(db);
    expect(reloaded).toEqual(state);
    expect(admit(reloaded, now + 1, rules).decision).toEqual(admit(state, now + 1, rules).decision);
    expect(admit(reloaded, now + 1, rules).decision.allowed).toBe(false);
  });

  it('stores the latest arrival time of each bucket that changed', () => {
    const { db } = openSqlite(':memory:');
    initLimits(db);
    limitsSave(db, {}, { requests: { tat: 5 } });
    limitsSave(db, { requests: { tat: 5 } }, { requests: { tat: 5 }, tokens: { tat: 7 } });
    expect(db.all('SELECT bucket, tat FROM limiter_state ORDER BY bucket')).toEqual([
      { bucket: 'requests', tat: 5 },
      { bucket: 'tokens', tat: 7 },
    ]);
  });
});
