import { expect, it } from 'vitest';
import { seededKeyRecord } from '../../keys/key-record.ts';
import { TEST_HASHER } from '../../testing/harness.ts';
import { cachedKeyStore } from './cached-key-store.ts';
import { manualClock } from './clock.ts';
import { memoryKeyStore } from './key-store.ts';

it('caches hits for ttlMs and misses for negativeTtlMs', async () => {
  const clock = manualClock(0);
  const inner = memoryKeyStore();
  let lookups = 0;
  const counting = {
    ...inner,
    findByHash: (h: string, n: number) => {
      lookups++;
      return inner.findByHash(h, n);
    },
  };
  const keys = cachedKeyStore(counting, { clock, ttlMs: 1000, negativeTtlMs: 100 });
  const rec = await seededKeyRecord('sk-motif-cache-0123456789abcdef', { tenantId: 't', createdAt: 0 }, TEST_HASHER);

  expect(await keys.findByHash(rec.hash, 0)).toBeNull();
  await inner.putKey(rec); // written behind the cache's back (another isolate)
  expect(await keys.findByHash(rec.hash, 0)).toBeNull();
  clock.advance(100);
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull();
  expect(lookups).toBe(2);
  await inner.putKey({ ...rec, revokedAt: 0 }); // a revocation elsewhere shows after the TTL
  clock.advance(999);
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull();
  clock.advance(1);
  expect(await keys.findByHash(rec.hash, 0)).toBeNull();
  // A write through the cache is visible at once.
  await keys.putKey(rec);
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull();
});

it('caches tenants for JWT callers, forgets everything on a write through it, and bounds revocation at 10 s by default', async () => {
  const clock = manualClock(0);
  const inner = memoryKeyStore();
  let tenantReads = 0;
  const counting = {
    ...inner,
    getTenant: (id: string) => {
      tenantReads++;
      return inner.getTenant(id);
    },
  };
  const keys = cachedKeyStore(counting, { clock });
  const rec = await seededKeyRecord('sk-motif-cache-tenant-0123456789', { tenantId: 't', createdAt: 0 }, TEST_HASHER);
  await inner.putKey(rec);
  expect((await keys.getTenant('t'))?.disabledAt).toBeNull();
  expect((await keys.getTenant('t'))?.disabledAt).toBeNull();
  expect(tenantReads).toBe(1);
  // A change through this cache shows at once.
  await keys.updateTenant('t', { disabled: true }, 0);
  expect((await keys.getTenant('t'))?.disabledAt).toBe(0);
  await keys.updateTenant('t', { disabled: false }, 0);
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull();
  // A revocation elsewhere (another isolate) shows within the default 10 s.
  await inner.revokeKey(rec.keyId, 0);
  clock.advance(9_999);
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull();
  clock.advance(1);
  expect(await keys.findByHash(rec.hash, 0)).toBeNull();
});

it('with a change signal, serves a change made behind its back at the next lookup', async () => {
  const clock = manualClock(0);
  const inner = memoryKeyStore();
  let changed = false;
  const keys = cachedKeyStore(inner, { clock, changed: () => changed });
  const rec = await seededKeyRecord('sk-motif-cache-0123456789abcdef', { tenantId: 't', createdAt: 0 }, TEST_HASHER);
  await inner.putKey(rec);
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull();
  await inner.putKey({ ...rec, revokedAt: 0 }); // another process revokes the key
  expect(await keys.findByHash(rec.hash, 0)).not.toBeNull(); // no signal: the cached match stands
  changed = true;
  expect(await keys.findByHash(rec.hash, 0)).toBeNull();
});
