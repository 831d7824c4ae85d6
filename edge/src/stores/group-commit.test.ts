import { describe, expect, it } from 'vitest';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { groupCommit } from './group-commit.ts';

function counting() {
  const { db, close } = openSqlite(':memory:');
  db.run('CREATE TABLE t (v INTEGER PRIMARY KEY)');
  let commits = 0;
  const transaction = db.transaction.bind(db);
  let depth = 0;
  db.transaction = (fn) => {
    if (depth === 0) commits++;
    depth++;
    try {
      return transaction(fn);
    } finally {
      depth--;
    }
  };
  return { db, close, commits: () => commits };
}

describe('groupCommit', () => {
  it('commits concurrent writes in one transaction and answers each caller', async () => {
    const s = counting();
    const insert = groupCommit(s.db, (v: number) => {
      s.db.run('INSERT INTO t (v) VALUES (?)', v);
      return v * 2;
    });
    expect(await Promise.all([1, 2, 3].map(insert))).toEqual([2, 4, 6]);
    expect(s.commits()).toBe(1);
    expect(s.db.all('SELECT v FROM t ORDER BY v')).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    s.close();
  });

  it('rolls back a failing item alone; the others commit', async () => {
    const s = counting();
    const insert = groupCommit(s.db, (v: number) => {
      s.db.run('INSERT INTO t (v) VALUES (?)', v);
      if (v === 2) throw new Error('bad item');
      return v;
    });
    const results = await Promise.allSettled([1, 2, 3].map(insert));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(s.db.all('SELECT v FROM t ORDER BY v')).toEqual([{ v: 1 }, { v: 3 }]);
    s.close();
  });

  it('commits at once when the group is full', async () => {
    const s = counting();
    // The deferred flush never runs: only the full group can commit (a wall-clock bound would
    // instead fail on a stalled machine).
    let deferred = 0;
    const insert = groupCommit(s.db, (v: number) => s.db.run('INSERT INTO t (v) VALUES (?)', v), { defer: () => void deferred++, maxItems: 2 });
    await Promise.all([insert(1), insert(2)]);
    expect(deferred).toBe(1);
    expect(s.commits()).toBe(1);
    s.close();
  });
});
