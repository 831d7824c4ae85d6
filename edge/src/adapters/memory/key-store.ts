/**
 * In-memory KeyStore for tests and throwaway local runs, with the same semantics as the SQL one
 * (stores/sql-keys.ts): soft-deleted tenants, revocation and expiry by timestamp.
 */

import { matchEndsAt } from '../../keys/key-record.ts';
import { applyTenantUpdate, newTenant } from '../../keys/tenant-record.ts';
import type { ApiKeyRecord, KeyMatch, KeyStore, TenantRecord } from '../../ports.ts';

const copyKey = (r: ApiKeyRecord): ApiKeyRecord => ({ ...r, scopes: [...r.scopes], limits: { ...r.limits } });
const copyTenant = (t: TenantRecord): TenantRecord => ({ ...t, limits: { ...t.limits } });

/** Create an in-memory key store, optionally pre-filled with keys (their tenants are created). */
export function memoryKeyStore(initial: ApiKeyRecord[] = []): KeyStore & { disableTenant(id: string): void } {
  const keys = new Map<string, ApiKeyRecord>();
  const tenants = new Map<string, TenantRecord>();
  const active = (at: number | null, now: number) => at === null || at > now;
  const putKey = (r: ApiKeyRecord) => {
    if (!tenants.has(r.tenantId)) tenants.set(r.tenantId, newTenant({ id: r.tenantId, createdAt: r.createdAt }));
    keys.set(r.keyId, copyKey(r));
  };
  const revoke = (keyId: string, now: number): ApiKeyRecord | null => {
    const k = keys.get(keyId);
    if (!k) return null;
    if (active(k.revokedAt, now)) k.revokedAt = now;
    return copyKey(k);
  };
  for (const r of initial) putKey(r);
  return {
    async findByHash(hash, now): Promise<KeyMatch | null> {
      for (const k of keys.values()) {
        if (k.hash !== hash) continue;
        const t = tenants.get(k.tenantId);
        if (!t || !active(k.revokedAt, now) || !active(k.expiresAt, now) || !active(t.disabledAt, now)) return null;
        return {
          hash: k.hash,
          expiresAt: matchEndsAt(k.expiresAt, k.revokedAt, t.disabledAt),
          principal: {
            tenantId: k.tenantId,
            keyId: k.keyId,
            scopes: [...k.scopes],
            limits: { tenant: { ...t.limits }, key: { ...k.limits }, monthlyTokens: t.monthlyTokens },
          },
        };
      }
      return null;
    },
    putKey: async (r) => putKey(r),
    async touchKey(keyId, at) {
      const k = keys.get(keyId);
      if (k && (k.lastUsedAt === null || k.lastUsedAt < at)) k.lastUsedAt = at;
    },
    async createTenant(t) {
      if (tenants.has(t.id)) return false;
      tenants.set(t.id, copyTenant(t));
      return true;
    },
    getTenant: async (id) => {
      const t = tenants.get(id);
      return t ? copyTenant(t) : null;
    },
    listTenants: async () => [...tenants.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(copyTenant),
    async updateTenant(id, u, now) {
      const t = tenants.get(id);
      if (!t) return null;
      const next = applyTenantUpdate(t, u, now);
      tenants.set(id, next);
      return copyTenant(next);
    },
    async deleteTenant(id, now) {
      const t = tenants.get(id);
      if (!t) return false;
      t.disabledAt ??= now;
      for (const k of keys.values()) if (k.tenantId === id) revoke(k.keyId, now);
      return true;
    },
    getKey: async (keyId) => {
      const k = keys.get(keyId);
      return k ? copyKey(k) : null;
    },
    listKeys: async (tenantId) => [...keys.values()].filter((k) => k.tenantId === tenantId).map(copyKey),
    revokeKey: async (keyId, now) => revoke(keyId, now),
    async rotateKey(oldKeyId, next, retireAt, now) {
      const old = keys.get(oldKeyId);
      if (!old) return null;
      keys.set(next.keyId, copyKey(next));
      if (retireAt <= now) return revoke(oldKeyId, now);
      if (active(old.expiresAt, retireAt)) old.expiresAt = retireAt;
      return copyKey(old);
    },
    disableTenant(id) {
      const t = tenants.get(id);
      if (t) t.disabledAt ??= 0;
    },
  };
}
