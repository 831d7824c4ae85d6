/**
 * A counter of changes to tenants and keys, kept by SQLite triggers, so a process that caches key
 * lookups learns in one small read whether any process changed them since it last asked (the
 * Node edge's key cache). SQLite's own `data_version` would not do: it moves with every commit to
 * the file, and the usage ledger shares it, so on a busy edge it moves between most requests.
 * `last_used_at` is left out: it is not part of a lookup's answer, and it changes on use.
 */
import type { SqlDb } from './sql.ts';

const KEY_COLUMNS = 'tenant_id, hash, prefix, last4, name, scopes, rpm, tpm, created_at, expires_at, revoked_at';

// One statement each: trigger bodies hold semicolons, so no split-on-semicolon schema script.
const STATEMENTS = [
  'CREATE TABLE IF NOT EXISTS keys_version (id INTEGER PRIMARY KEY CHECK (id = 1), v INTEGER NOT NULL)',
  'INSERT OR IGNORE INTO keys_version (id, v) VALUES (1, 0)',
  ...[
    ['key_insert', 'AFTER INSERT ON api_keys'],
    ['key_update', `AFTER UPDATE OF ${KEY_COLUMNS} ON api_keys`],
    ['key_delete', 'AFTER DELETE ON api_keys'],
    ['tenant_insert', 'AFTER INSERT ON tenants'],
    ['tenant_update', 'AFTER UPDATE ON tenants'],
    ['tenant_delete', 'AFTER DELETE ON tenants'],
  ].map(([name, when]) => `CREATE TRIGGER IF NOT EXISTS keys_version_${name} ${when} BEGIN UPDATE keys_version SET v = v + 1; END`),
];

/**
 * Create the counter and its triggers (after the key tables exist), and return a check: true when
 * tenants or keys changed since the previous call (the first call sets the baseline).
 */
export function keysChangeWatch(db: SqlDb): () => boolean {
  db.transaction(() => {
    for (const s of STATEMENTS) db.run(s);
  });
  let seen: number | undefined;
  return () => {
    const v = Number(db.all<{ v: number }>('SELECT v FROM keys_version WHERE id = 1')[0]?.v ?? 0);
    const changed = v !== seen;
    seen = v;
    return changed;
  };
}
