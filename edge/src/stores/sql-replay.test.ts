import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { initReplay, replayClaim, replayPrune, sqlReplayWindow, withMemoryFallback } from './sql-replay.ts';

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

  it('while its store is unavailable, ids are checked in memory: calls go on, replays are still refused', () => {
    const sql = sqlReplayWindow(db());
    let locked = false;
    const logs: string[] = [];
    const w = withMemoryFallback(
      {
        check(id, now) {
          if (locked) throw new ApiError('storage_unavailable', 'locked');
          return sql.check(id, now);
        },
      },
      (m) => logs.push(m),
    );
    expect(w.check('before', 1_000)).toBe(true);
    locked = true;
    expect(w.check('during', 1_001)).toBe(true);
    expect(w.check('during', 1_002)).toBe(false);
    expect(w.check('before', 1_003)).toBe(false);
    locked = false;
    expect(w.check('during', 1_004)).toBe(false);
    expect(w.check('after', 1_005)).toBe(true);
    expect(logs).toHaveLength(2);
  });
});
