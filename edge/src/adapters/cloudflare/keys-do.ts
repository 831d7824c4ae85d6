/**
 * Tenants and API keys in one Durable Object (SQLite storage). Lookups are few per key thanks
 * to the in-isolate cache in front (cachedKeyStore), so one instance is enough; it is the single
 * writer, which keeps key creation, rotation and revocation strictly ordered.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import type { ApiKeyRecord, KeyMatch, TenantRecord, TenantUpdate } from '../../ports.ts';
import type { SqlDb } from '../../stores/sql.ts';
import * as sql from '../../stores/sql-keys.ts';
import { doSql } from './do-sql.ts';

export class KeysDO extends DurableObject {
  private readonly db: SqlDb;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.db = doSql(ctx.storage);
    sql.initKeys(this.db);
  }

  findByHash(hash: string, now: number): KeyMatch | null {
    return sql.keysFindByHash(this.db, hash, now);
  }
  putKey(record: ApiKeyRecord): void {
    sql.keysPut(this.db, record);
  }
  touchKey(keyId: string, at: number): void {
    sql.keysTouch(this.db, keyId, at);
  }
  createTenant(t: TenantRecord): boolean {
    return sql.tenantsCreate(this.db, t);
  }
  getTenant(id: string): TenantRecord | null {
    return sql.tenantsGet(this.db, id);
  }
  listTenants(): TenantRecord[] {
    return sql.tenantsList(this.db);
  }
  updateTenant(id: string, u: TenantUpdate, now: number): TenantRecord | null {
    return sql.tenantsUpdate(this.db, id, u, now);
  }
  deleteTenant(id: string, now: number): boolean {
    return sql.tenantsDelete(this.db, id, now);
  }
  getKey(keyId: string): ApiKeyRecord | null {
    return sql.keysGet(this.db, keyId);
  }
  listKeys(tenantId: string): ApiKeyRecord[] {
    return sql.keysList(this.db, tenantId);
  }
  revokeKey(keyId: string, now: number): ApiKeyRecord | null {
    return sql.keysRevoke(this.db, keyId, now);
  }
  rotateKey(oldKeyId: string, next: ApiKeyRecord, retireAt: number, now: number): ApiKeyRecord | null {
    return sql.keysRotate(this.db, oldKeyId, next, retireAt, now);
  }
}
