/**
 * In-memory KeyStore for tests and throwaway local runs: keys by hash, tenants implicit.
 */
import type { ApiKeyRecord, KeyStore, Principal } from '../../ports.ts';

/** Create an in-memory key store, optionally pre-filled. */
export function memoryKeyStore(initial: ApiKeyRecord[] = []): KeyStore & { disableTenant(id: string): void } {
  const byId = new Map<string, ApiKeyRecord>();
  const disabled = new Set<string>();
  for (const r of initial) byId.set(r.keyId, r);
  return {
    async findByHash(hash: string, now: number): Promise<Principal | null> {
      for (const r of byId.values()) {
        if (r.hash !== hash) continue;
        if (r.revokedAt !== null && r.revokedAt <= now) return null;
        if (disabled.has(r.tenantId)) return null;
        return { tenantId: r.tenantId, keyId: r.keyId, scopes: [...r.scopes] };
      }
      return null;
    },
    async putKey(record: ApiKeyRecord): Promise<void> {
      byId.set(record.keyId, { ...record, scopes: [...record.scopes] });
    },
    async listTenants(): Promise<{ id: string }[]> {
      return [...new Set([...byId.values()].map((r) => r.tenantId))].sort().map((id) => ({ id }));
    },
    disableTenant(id: string): void {
      disabled.add(id);
    },
  };
}
