/**
 * One rate-limit subject's GCRA state in SQL, for the limiter Durable Object: each bucket's
 * theoretical arrival time in a row, so an object that is evicted and loaded again keeps the
 * tenant's counters and debt (memory-only state would forgive them on every eviction).
 */
import type { SubjectState } from '../middleware/limits/policy.ts';
import { applySchema, type SqlDb } from './sql.ts';

export const LIMITS_SCHEMA = `
CREATE TABLE IF NOT EXISTS limiter_state (
  bucket TEXT PRIMARY KEY,
  tat REAL NOT NULL
)
`;

const BUCKETS = ['requests', 'tokens'] as const;

/** Create the state table if missing. */
export function initLimits(db: SqlDb): void {
  applySchema(db, LIMITS_SCHEMA);
}

/** The stored state (empty = both buckets full). */
export function limitsLoad(db: SqlDb): SubjectState {
  const state: SubjectState = {};
  for (const row of db.all<{ bucket: string; tat: number }>('SELECT bucket, tat FROM limiter_state')) {
    if ((BUCKETS as readonly string[]).includes(row.bucket) && Number.isFinite(row.tat)) state[row.bucket as (typeof BUCKETS)[number]] = { tat: row.tat };
  }
  return state;
}

/** Store the buckets that changed from `before` to `after` (an unchanged one costs no write). */
export function limitsSave(db: SqlDb, before: SubjectState, after: SubjectState): void {
  const changed = BUCKETS.filter((b) => after[b] !== undefined && after[b]?.tat !== before[b]?.tat);
  if (changed.length === 0) return;
  db.transaction(() => {
    for (const b of changed) {
      db.run('INSERT INTO limiter_state (bucket, tat) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET tat = excluded.tat', b, after[b]!.tat);
    }
  });
}
