/**
 * Seeding at start: the development API key (MOTIF_DEV_API_KEY) for tenant `dev`. The key id
 * derives from the key's hash, so seeding at every start updates one record, never duplicates.
 */
import { DEFAULT_SCOPES, seededKeyRecord } from './keys/key-record.ts';
import type { KeyHasher, KeyStore } from './ports.ts';

export const DEV_TENANT = 'dev';

/** Store `secret` as an active key of tenant `dev`; returns its key id. */
export async function seedDevKey(keys: KeyStore, hash: KeyHasher, secret: string, now: number): Promise<string> {
  const rec = await seededKeyRecord(secret, { tenantId: DEV_TENANT, scopes: DEFAULT_SCOPES, createdAt: now }, hash);
  await keys.putKey(rec);
  return rec.keyId;
}
