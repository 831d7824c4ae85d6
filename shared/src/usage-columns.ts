/**
 * The usage record as SQL columns, defined once: the edge's ledger (SQLite on Node, a Durable
 * Object per tenant on Cloudflare) and the origin's crash journal store the record's fields under
 * these names and types. A field added to UsageRecord fails to compile here until it has a
 * column, so the stores cannot drift from the record or from each other.
 *
 * Column names are the record's field names. Stored order puts the key (replica_id, request_id)
 * first, as the existing tables have it; stores name their columns in statements, so order is
 * only for a fresh table's layout.
 */
import type { UsageRecord } from './usage.ts';

export type UsageColumnName = keyof UsageRecord;
/** What a usage column holds in SQLite. */
export type UsageCell = string | number;

export interface UsageColumn<K extends UsageColumnName = UsageColumnName> {
  readonly name: K;
  readonly type: 'TEXT' | 'INTEGER';
  /**
   * The stored value of the field: the value itself. No coercion, so a missing field reaches the
   * NOT NULL constraint and fails the statement instead of being stored as a string.
   */
  write(value: UsageRecord[K]): UsageCell;
  /**
   * The field from a stored cell; throws on a cell of the wrong kind. Enum values are not checked
   * here: records are validated (UsageRecord.parse) where they enter the outbox or the ledger.
   */
  read(cell: unknown): UsageRecord[K];
}

function text<K extends UsageColumnName>(name: K): UsageColumn<K> {
  return {
    name,
    type: 'TEXT',
    write: (value) => value as UsageCell,
    read: (cell) => {
      if (typeof cell !== 'string') throw new Error(`usage column ${name}: expected TEXT, got ${typeof cell}`);
      return cell as UsageRecord[K];
    },
  };
}

function integer<K extends UsageColumnName>(name: K): UsageColumn<K> {
  return {
    name,
    type: 'INTEGER',
    write: (value) => value as UsageCell,
    read: (cell) => {
      // better-sqlite3 in safe-integer mode returns bigints; the record's integers fit a number.
      if (typeof cell !== 'number' && typeof cell !== 'bigint') throw new Error(`usage column ${name}: expected INTEGER, got ${typeof cell}`);
      return Number(cell) as UsageRecord[K];
    },
  };
}

/** Every field of UsageRecord, as a column (the mapped type makes a missing one a compile error). */
export const USAGE_COLUMNS: { readonly [K in UsageColumnName]: UsageColumn<K> } = {
  replica_id: text('replica_id'),
  request_id: text('request_id'),
  tenant_id: text('tenant_id'),
  key_id: text('key_id'),
  model: text('model'),
  revision: text('revision'),
  endpoint: text('endpoint'),
  prompt_tokens: integer('prompt_tokens'),
  cached_tokens: integer('cached_tokens'),
  completion_tokens: integer('completion_tokens'),
  outcome: text('outcome'),
  started_at: integer('started_at'),
  finished_at: integer('finished_at'),
};

/** All record columns in stored order (the key first). */
export const USAGE_COLUMN_NAMES = Object.keys(USAGE_COLUMNS) as UsageColumnName[];

/** The key every usage store is unique on: one record per request of a replica. */
export const USAGE_KEY_COLUMNS = ['replica_id', 'request_id'] as const satisfies readonly UsageColumnName[];

/** Column definitions for CREATE TABLE, one per line (`name TYPE NOT NULL`), without a trailing comma. */
export function usageColumnDefinitions(names: readonly UsageColumnName[], indent = '  '): string {
  return names.map((n) => `${indent}${n} ${USAGE_COLUMNS[n].type} NOT NULL`).join(',\n');
}

/** The stored values of `record`'s fields `names`, in that order (for `VALUES (?, …)`). */
export function writeUsageColumns<K extends UsageColumnName>(record: Pick<UsageRecord, K>, names: readonly K[]): UsageCell[] {
  return names.map((n) => (USAGE_COLUMNS[n] as UsageColumn<K>).write(record[n]));
}

/** The fields `names` from a stored row (keyed by column name). */
export function readUsageColumns<K extends UsageColumnName>(row: Readonly<Record<string, unknown>>, names: readonly K[]): Pick<UsageRecord, K> {
  const out = {} as Pick<UsageRecord, K>;
  for (const n of names) out[n] = (USAGE_COLUMNS[n] as UsageColumn<K>).read(row[n]) as Pick<UsageRecord, K>[K];
  return out;
}

/** `?, ?, …` for `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}
