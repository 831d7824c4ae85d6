import { describe, expect, it } from 'vitest';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { initReplay, replayClaim, replayPrune } from './sql-replay.ts';

function db() {
  const h = openSqlite(':memory:');
  initReplay(h.db);
  return h.db;
}

describe('replay window in SQL', () => {
  it('accepts an id once inside the window, and again only after it', () => {
    const d = db();
    expect(replayClaim(d, 'a', 10_000, 1_000)).toBe(true);
    expect(replayClaim(d, 'a', 10_500, 1_000)).toBe(false);
    expect(replayClaim(d, 'b', 10_500, 1_000)).toBe(true);
    expect(replayClaim(d, 'a', 11_000, 1_000)).toBe(false); // exactly the window: still remembered
    expect(replayClaim(d, 'a', 11_001, 1_000)).toBe(true);
    expect(replayClaim(d, 'a', 11_002, 1_000)).toBe(false);
  });

  it('prunes ids older than the cutoff only', () => {
    const d = db();
    replayClaim(d, 'old', 1_000, 10_000);
    replayClaim(d, 'new', 5_000, 10_000);
    replayPrune(d, 2_000);
    expect(d.all('SELECT request_id FROM replay_seen')).toEqual([{ request_id: 'new' }]);
  });
});
