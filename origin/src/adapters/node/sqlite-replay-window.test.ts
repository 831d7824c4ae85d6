import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database } from '#shared/adapters/node/sqlite-driver.ts';
import { ApiError } from '#shared/errors.ts';
import { ReplayGuard, type ReplayWindow } from '#shared/signing.ts';
import { openSqliteReplayWindow } from './sqlite-replay-window.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});
function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'motif-replay-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return join(d, 'nested', 'replay.sqlite');
}
function sqlite(file = ':memory:', scope = 'replica-1', windowMs = 1_000) {
  const w = openSqliteReplayWindow({ file, scope, windowMs, pruneEveryMs: 100 });
  cleanups.push(() => w.close());
  return w;
}

// The same contract for the in-memory guard and the durable window.
describe.each([
  ['in-memory ReplayGuard', (): ReplayWindow => new ReplayGuard(1_000)],
  ['SQLite window', (): ReplayWindow => sqlite()],
])('replay window contract: %s', (_name, make) => {
  it('accepts a new id once, refuses it inside the window, accepts it again after', () => {
    const w = make();
    expect(w.check('a', 10_000)).toBe(true);
    expect(w.check('a', 10_500)).toBe(false);
    expect(w.check('b', 10_500)).toBe(true);
    expect(w.check('a', 11_000)).toBe(false); // exactly the window: still remembered
    expect(w.check('a', 11_001)).toBe(true);
    expect(w.check('a', 11_002)).toBe(false);
  });
});

describe('SQLite replay window', () => {
  it('still refuses after a restart (close and reopen on the same file)', () => {
    const file = tempFile();
    const before = sqlite(file);
    expect(before.check('req-1', 50_000)).toBe(true);
    before.close();
    const after = sqlite(file);
    expect(after.check('req-1', 50_400)).toBe(false);
    expect(after.check('req-2', 50_400)).toBe(true);
  });

  it('keeps one window per scope, so a failover to a sibling replica is not a replay', () => {
    const file = tempFile();
    const r1 = sqlite(file, 'replica-1');
    const r2 = sqlite(file, 'replica-2');
    expect(r1.check('req-x', 1_000)).toBe(true);
    expect(r2.check('req-x', 1_001)).toBe(true);
    expect(r1.check('req-x', 1_002)).toBe(false);
  });

  it('prunes ids past the window, so its size follows the traffic of one window', () => {
    const w = sqlite();
    for (let i = 0; i < 50; i++) w.check(`old-${i}`, 1_000 + i);
    expect(w.size()).toBe(50);
    w.check('new', 5_000);
    expect(w.size()).toBe(1);
  });

  it('a store that cannot be written (locked, full, failing) refuses the request with a retryable 503, not a 500', () => {
    const file = tempFile();
    const w = openSqliteReplayWindow({ file, scope: 'r', busyTimeoutMs: 10 });
    expect(w.check('before', 1_000)).toBe(true);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      let err: unknown;
      try {
        w.check('while-locked', 1_001);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ code: 'storage_unavailable', status: 503, retryAfter: 1 });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(w.check('while-locked', 1_002)).toBe(true);
    w.close();
  });

  it.each([
    ['an empty scope', { scope: '' }],
    ['a zero window', { windowMs: 0 }],
    ['a negative prune interval', { pruneEveryMs: -5 }],
  ])('rejects %s', (_name, bad) => {
    expect(() => openSqliteReplayWindow({ file: ':memory:', scope: 'r', ...bad })).toThrow(/replay window/);
  });
});
