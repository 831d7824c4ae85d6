import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLimiter } from '../adapters/memory/limiter.ts';
import { openSqlite, type SqliteHandle } from '../adapters/node/sqlite.ts';
import type { Admission, EffectiveLimits, Limiter } from '../ports.ts';
import { sqlLimiter } from './sql-limits.ts';

const NOW = Date.UTC(2026, 5, 15);
const NONE: EffectiveLimits = { tenantRpm: 0, tenantTpm: 0, keyRpm: 0, keyTpm: 0, maxConcurrent: 0, monthlyTokens: 0 };
let seq = 0;
const ask = (limits: Partial<EffectiveLimits>, o: Partial<Admission> = {}): Admission => ({
  leaseId: `lease-${++seq}`,
  tenantId: 'acme',
  keyId: 'key-1',
  limits: { ...NONE, ...limits },
  reserveTokens: 100,
  now: NOW,
  expiresAt: NOW + 60_000,
  ...o,
});

const handles: SqliteHandle[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.close();
});
function sqlite(file = ':memory:', grouped = false): Limiter {
  const h = openSqlite(file, { synchronous: 'NORMAL' });
  handles.push(h);
  // Grouped as node.ts does: admissions per event-loop turn, ends of requests per 5 ms.
  return sqlLimiter(h.db, grouped ? { defer: setImmediate, deferSettle: (run) => setTimeout(run, 5) } : {});
}

describe.each([
  ['SQLite', () => sqlite()],
  ['SQLite, operations grouped', () => sqlite(':memory:', true)],
  ['memory', () => memoryLimiter()],
])('limiter operations (%s)', (_name, make) => {
  it('a tenant at its concurrency cap is refused until a lease finishes', async () => {
    const l = make();
    const a = ask({ maxConcurrent: 2 });
    const b = ask({ maxConcurrent: 2 });
    expect((await l.admit(a)).allowed).toBe(true);
    expect((await l.admit(b)).allowed).toBe(true);
    expect(await l.admit(ask({ maxConcurrent: 2 }))).toMatchObject({ allowed: false, reason: 'concurrency', detail: { limit: 2, used: 2 } });
    expect((await l.admit(ask({ maxConcurrent: 2 }, { tenantId: 'other' }))).allowed).toBe(true);
    await l.finish('acme', a.leaseId, null, NOW);
    expect((await l.admit(ask({ maxConcurrent: 2 }))).allowed).toBe(true);
  });

  it('reconciles once: the reservation becomes what was used, in the buckets and the month', async () => {
    const l = make();
    const limits = { tenantTpm: 600, monthlyTokens: 500 };
    const a = ask(limits, { reserveTokens: 500 });
    expect((await l.admit(a)).tokens).toMatchObject({ remaining: 100 });
    // An outstanding reservation counts against the quota: 500 of 500 promised.
    expect(await l.admit(ask(limits, { reserveTokens: 10 }))).toMatchObject({ allowed: false, reason: 'quota', detail: { used: 500 } });
    await l.finish('acme', a.leaseId, null, NOW); // stream aborted: slot freed, tokens still reserved
    await l.reconcile('acme', [{ leaseId: a.leaseId, usedTokens: 50 }], NOW); // the origin's usage record
    await l.reconcile('acme', [{ leaseId: a.leaseId, usedTokens: 5000 }], NOW); // redelivered: ignored
    const next = await l.admit(ask(limits, { reserveTokens: 10 }));
    expect(next.tokens).toMatchObject({ remaining: 540 });
    // 50 used + 10 reserved: 439 more still leave one token, 440 spend the month.
    expect((await l.admit(ask(limits, { reserveTokens: 439 }))).allowed).toBe(true);
    expect((await l.admit(ask(limits, { reserveTokens: 1 }))).allowed).toBe(true);
    expect(await l.admit(ask(limits, { reserveTokens: 1 }))).toMatchObject({ allowed: false, reason: 'quota', detail: { used: 500 } });
  });

  it('a lease never reconciled expires: its slot frees and its reservation stays charged', async () => {
    const l = make();
    const limits = { maxConcurrent: 1, monthlyTokens: 1000 };
    expect((await l.admit(ask(limits, { reserveTokens: 400 }))).allowed).toBe(true);
    expect((await l.admit(ask(limits, { now: NOW + 59_999 }))).reason).toBe('concurrency');
    // Expired: the slot is free and the 400 stay charged to the month.
    expect((await l.admit(ask(limits, { now: NOW + 60_000, reserveTokens: 600 }))).allowed).toBe(true);
    expect(await l.admit(ask(limits, { now: NOW + 60_000 }))).toMatchObject({ allowed: false, reason: 'quota', detail: { used: 1000 } });
  });

  it('finishing with the usage reconciles at once; the usage record then finds no lease', async () => {
    const l = make();
    const limits = { monthlyTokens: 100 };
    const a = ask(limits, { reserveTokens: 100 });
    await l.admit(a);
    await l.finish('acme', a.leaseId, 30, NOW);
    await l.reconcile('acme', [{ leaseId: a.leaseId, usedTokens: 30 }], NOW);
    expect((await l.admit(ask(limits, { reserveTokens: 70 }))).allowed).toBe(true);
    expect(await l.admit(ask(limits, { reserveTokens: 1 }))).toMatchObject({ reason: 'quota', detail: { used: 100 } });
  });

  it('reconciles a batch of leases in one call; unknown lease ids in it are ignored', async () => {
    const l = make();
    const limits = { monthlyTokens: 100 };
    const [a, b] = [ask(limits, { reserveTokens: 40 }), ask(limits, { reserveTokens: 40 })];
    await l.admit(a);
    await l.admit(b);
    await l.reconcile(
      'acme',
      [
        { leaseId: a.leaseId, usedTokens: 5 },
        { leaseId: 'never-admitted', usedTokens: 1000 },
        { leaseId: b.leaseId, usedTokens: 10 },
      ],
      NOW,
    );
    expect((await l.admit(ask(limits, { reserveTokens: 85 }))).allowed).toBe(true);
    expect(await l.admit(ask(limits, { reserveTokens: 1 }))).toMatchObject({ reason: 'quota', detail: { used: 100 } });
  });

  it('the month counter starts again in a new UTC month', async () => {
    const l = make();
    const limits = { monthlyTokens: 100 };
    const a = ask(limits);
    await l.admit(a);
    await l.finish('acme', a.leaseId, 100, NOW);
    expect((await l.admit(ask(limits, { reserveTokens: 1 }))).reason).toBe('quota');
    expect((await l.admit(ask(limits, { reserveTokens: 1, now: Date.UTC(2026, 6, 1) }))).allowed).toBe(true);
  });
});

describe('limits in one SQLite file shared by several connections (edge processes)', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([false, true])('counts exactly across connections: 30 admissions against 10 rpm → 10 (grouped: %s)', async (grouped) => {
    dir = mkdtempSync(join(tmpdir(), 'limits-'));
    const file = join(dir, 'limits.sqlite');
    const a = sqlite(file, grouped);
    const b = sqlite(file, grouped);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).admit(ask({ tenantRpm: 10 }))));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(results.filter((r) => r.reason === 'requests')).toHaveLength(20);
  });

  it('a batch whose transaction fails rejects every operation in it and keeps none', async () => {
    dir = mkdtempSync(join(tmpdir(), 'limits-'));
    const file = join(dir, 'limits.sqlite');
    const a = sqlite(file, true);
    const holder = openSqlite(file);
    handles.push(holder);
    holder.db.run('BEGIN IMMEDIATE'); // another process holds the write lock past the busy timeout
    const batch = await Promise.allSettled([a.admit(ask({ tenantRpm: 1 })), a.admit(ask({ tenantRpm: 1 }))]);
    holder.db.run('COMMIT');
    expect(batch.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((batch[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'storage_unavailable' });
    expect((await a.admit(ask({ tenantRpm: 1 }))).allowed).toBe(true);
  });

  it('a lease taken through one connection is settled through another', async () => {
    dir = mkdtempSync(join(tmpdir(), 'limits-'));
    const file = join(dir, 'limits.sqlite');
    const a = sqlite(file);
    const b = sqlite(file);
    const lease = ask({ maxConcurrent: 1 });
    expect((await a.admit(lease)).allowed).toBe(true);
    expect((await b.admit(ask({ maxConcurrent: 1 }))).reason).toBe('concurrency');
    await b.finish('acme', lease.leaseId, 10, NOW);
    expect((await a.admit(ask({ maxConcurrent: 1 }))).allowed).toBe(true);
  });
});
