/**
 * Tenants and API keys in one Durable Object (SQLite storage). Lookups are few per key thanks
 * to the in-isolate cache in front (cachedKeyStore), so one instance is enough; it is the single
 * writer, which keeps key creation and revocation strictly ordered.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import type { ApiKeyRecord, Principal } from '../../ports.ts';
import type { SqlDb } from '../../stores/sql.ts';
import { initKeys, keysFindByHash, keysListTenants, keysPut } from '../../stores/sql-keys.ts';
import { doSql } from './do-sql.ts';

export class KeysDO extends DurableObject {
  private readonly db: SqlDb;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.db = doSql(ctx.storage);
    initKeys(this.db);
  }

  /** The principal of an active key with this hash, or null. */
  findByHash(hash: string, now: number): Principal | null {
    return keysFindByHash(this.db, hash, now);
  }

  /** Insert or replace a key. */
  putKey(record: ApiKeyRecord): void {
    keysPut(this.db, record);
  }

  /** Every tenant id, sorted. */
  listTenants(): { id: string }[] {
    return keysListTenants(this.db);
  }
}
