import { describe, expect, it } from 'vitest';
import { memoryResponseStore } from '../adapters/memory/response-store.ts';
import { openSqlite } from '../adapters/node/sqlite.ts';
import type { ResponseStore, StoredResponse } from '../ports.ts';
import { sqlResponseStore } from './sql-responses.ts';

const record = (over: Partial<StoredResponse> = {}): StoredResponse => ({
  tenantId: 't1',
  id: 'resp_1',
  createdAt: 1000,
  expiresAt: 2000,
  response: '{"id":"resp_1"}',
  items: '[]',
  ...over,
});

const stores: [string, () => ResponseStore][] = [
  ['SQL (SQLite)', () => sqlResponseStore(openSqlite(':memory:').db)],
  ['memory', () => memoryResponseStore()],
];

describe.each(stores)('response store: %s', (_name, make) => {
  it('returns what was stored, to its tenant only', async () => {
    const s = make();
    await s.put(record());
    expect(await s.get('t1', 'resp_1', 1500)).toEqual(record());
    expect(await s.get('t2', 'resp_1', 1500)).toBeNull();
    expect(await s.get('t1', 'resp_2', 1500)).toBeNull();
  });

  it('does not return an expired response, and forgets it when newer ones arrive', async () => {
    const s = make();
    await s.put(record());
    expect(await s.get('t1', 'resp_1', 2000)).toBeNull();
    await s.put(record({ id: 'resp_2', createdAt: 2500, expiresAt: 3500 }));
    expect(await s.delete('t1', 'resp_1')).toBe(false);
    expect(await s.get('t1', 'resp_2', 2600)).not.toBeNull();
  });

  it('deletes a response of its tenant only', async () => {
    const s = make();
    await s.put(record());
    expect(await s.delete('t2', 'resp_1')).toBe(false);
    expect(await s.delete('t1', 'resp_1')).toBe(true);
    expect(await s.get('t1', 'resp_1', 1500)).toBeNull();
    expect(await s.delete('t1', 'resp_1')).toBe(false);
  });
});
