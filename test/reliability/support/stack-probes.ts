/**
 * Probes into a running test stack. Tenants and the ledger go through the edge's SQLite file
 * (WAL, so the test reads and writes beside the edge process): the ledger's rows say more
 * (outcome, request id) than `/v1/usage` shows a tenant. Metrics go through the processes'
 * Prometheus pages.
 */
import { join } from 'node:path';
import { nodeDigests } from '../../../edge/src/adapters/node/digests.ts';
import { openSqlite } from '../../../edge/src/adapters/node/sqlite.ts';
import { pepperedKeyHasher } from '../../../edge/src/keys/key-hash.ts';
import { seededKeyRecord } from '../../../edge/src/keys/key-record.ts';
import { sqlKeyStore } from '../../../edge/src/stores/sql-keys.ts';
import { devSecret } from '../../../scripts/stack/config.ts';

export interface LedgerRow {
  request_id: string;
  replica_id: string;
  tenant_id: string;
  key_id: string;
  outcome: string;
  prompt_tokens: number;
  completion_tokens: number;
  /** 1 for the record that bills its request id, else 0. */
  billable: number;
}

function edgeDb(dataDir: string) {
  return openSqlite(join(dataDir, 'edge', 'edge.sqlite'));
}

/** Add an API key for `tenantId` (the tenant is created with it); returns its key id. */
export async function addTenantKey(dataDir: string, tenantId: string, secret: string): Promise<string> {
  const sqlite = edgeDb(dataDir);
  try {
    // The stack's edge hashes keys under the pepper it generated into the data dir.
    const rec = await seededKeyRecord(secret, { tenantId, createdAt: Date.now() }, pepperedKeyHasher(devSecret(dataDir, 'dev-key-pepper'), nodeDigests));
    await sqlKeyStore(sqlite.db).putKey(rec);
    return rec.keyId;
  } finally {
    sqlite.close();
  }
}

/** Every ledger row, read straight from the edge's SQLite ledger. */
export function ledgerRows(dataDir: string): LedgerRow[] {
  const sqlite = edgeDb(dataDir);
  try {
    return sqlite.db.all<Record<string, string | number>>(
      'SELECT request_id, replica_id, tenant_id, key_id, outcome, prompt_tokens, completion_tokens, billable FROM usage_records',
    ) as unknown as LedgerRow[];
  } finally {
    sqlite.close();
  }
}

/** Headers for the origin's `/metrics`: its scraper token, none when the stack made the page public. */
export function originMetricsHeaders(stack: { originMetricsToken: string | undefined }): Record<string, string> {
  return stack.originMetricsToken ? { authorization: `Bearer ${stack.originMetricsToken}` } : {};
}

/** One sample from a Prometheus text page (first series of the family, or with exact labels). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  const prefix = name + (labels ? `{${labels}}` : '');
  const line = text.split('\n').find((l) => !l.startsWith('#') && (l.startsWith(`${prefix} `) || (!labels && l.startsWith(`${name}{`))));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
