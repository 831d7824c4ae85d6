/**
 * Stored Responses API responses in this process's memory, with the SQL store's semantics
 * (tenant-scoped, expired ones not returned): for tests and apps built without a database.
 */
import type { ResponseStore, StoredResponse } from '../../ports.ts';

/** A ResponseStore in a Map; `size` for tests. */
export function memoryResponseStore(): ResponseStore & { size(): number } {
  const rows = new Map<string, StoredResponse>();
  const key = (tenantId: string, id: string) => `${tenantId}\n${id}`;
  return {
    async put(r) {
      for (const [k, v] of rows) if (v.expiresAt <= r.createdAt) rows.delete(k);
      rows.set(key(r.tenantId, r.id), { ...r });
    },
    async get(tenantId, id, now) {
      const r = rows.get(key(tenantId, id));
      return r && r.expiresAt > now ? { ...r } : null;
    },
    async delete(tenantId, id) {
      return rows.delete(key(tenantId, id));
    },
    size: () => rows.size,
  };
}
