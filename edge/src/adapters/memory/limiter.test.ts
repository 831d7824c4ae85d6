import { expect, it } from 'vitest';
import type { StoredLease } from '../../middleware/limits/engine.ts';
import { memoryLimitsRepo } from './limiter.ts';

const lease = (id: string, over: Partial<StoredLease> = {}): StoredLease => ({
  id,
  tenantId: 't',
  keyId: 'k',
  reserved: 10,
  tenantTpm: 0,
  keyTpm: 0,
  open: true,
  expiresAt: 1_000,
  ...over,
});

it('reports what changed since the last call: rows as they are, leases gone only if reported before', () => {
  const repo = memoryLimitsRepo({ buckets: [], leases: [lease('old')], months: [] });
  expect(repo.changes()).toEqual({ buckets: [], leases: [], goneLeases: [], months: [] });
  repo.putBuckets(['b1', 'b2'], [{ tat: 5 }, undefined]);
  repo.insertLease(lease('a'));
  repo.insertLease(lease('brief'));
  repo.takeLease('t', 'brief'); // came and went between two calls: never reported
  repo.closeLease('t', 'old');
  repo.addMonth('t', '2026-12', 7);
  repo.addMonth('t', '2026-12', 3);
  expect(repo.changes()).toEqual({
    buckets: [{ name: 'b1', tat: 5 }],
    leases: [lease('a'), lease('old', { open: false })],
    goneLeases: [],
    months: [{ tenantId: 't', month: '2026-12', used: 10 }],
  });
  repo.takeLease('t', 'a');
  repo.collectExpired('t', 2_000); // 'old' expired
  expect(repo.changes()).toEqual({
    buckets: [],
    leases: [],
    goneLeases: [
      { tenantId: 't', id: 'a' },
      { tenantId: 't', id: 'old' },
    ],
    months: [],
  });
});

it('keeps a tenant’s open count and reservations as leases come and go', () => {
  const repo = memoryLimitsRepo();
  repo.insertLease(lease('a'));
  repo.insertLease(lease('b', { reserved: 5 }));
  repo.closeLease('t', 'a');
  expect(repo.leaseTotals('t', 0, '2026-12')).toEqual({ monthUsed: 0, open: 1, outstanding: 15, expired: 0 });
  expect(repo.leaseTotals('t', 1_000, '2026-12')).toEqual({ monthUsed: 0, open: 0, outstanding: 15, expired: 2 });
  expect(repo.collectExpired('t', 1_000)).toBe(15);
  expect(repo.leaseTotals('t', 1_000, '2026-12')).toEqual({ monthUsed: 0, open: 0, outstanding: 0, expired: 0 });
});
