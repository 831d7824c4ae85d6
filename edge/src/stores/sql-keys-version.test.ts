import { expect, it } from 'vitest';
import { openSqlite } from '../adapters/node/sqlite.ts';
import { seededKeyRecord } from '../keys/key-record.ts';
import { newTenant } from '../keys/tenant-record.ts';
import { TEST_HASHER } from '../testing/harness.ts';
import { sqlKeyStore } from './sql-keys.ts';
import { keysChangeWatch } from './sql-keys-version.ts';

it('moves when a tenant or key changes, not when a key is used or other tables change', async () => {
  const { db, close } = openSqlite(':memory:');
  try {
    const keys = sqlKeyStore(db);
    const changed = keysChangeWatch(db);
    changed(); // baseline
    expect(changed()).toBe(false);
    await keys.createTenant(newTenant({ id: 't', createdAt: 0 }));
    expect(changed()).toBe(true);
    const rec = await seededKeyRecord('sk-motif-version-0123456789abcdef', { tenantId: 't', createdAt: 0 }, TEST_HASHER);
    await keys.putKey(rec);
    expect(changed()).toBe(true);
    await keys.touchKey(rec.keyId, 1_000);
    db.run('CREATE TABLE other (x INTEGER)');
    db.run('INSERT INTO other VALUES (1)');
    expect(changed()).toBe(false);
    await keys.revokeKey(rec.keyId, 2_000);
    expect(changed()).toBe(true);
    expect(changed()).toBe(false);
  } finally {
    close();
  }
});
