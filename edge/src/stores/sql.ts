/**
 * The few SQL operations the edge's stores need, over any synchronous SQLite: better-sqlite3 on
 * Node, a Durable Object's `ctx.storage.sql` on Cloudflare. The store logic (stores/sql-*.ts) is
 * written once against this interface, so both runtimes run the same schema and queries.
 */
export type SqlValue = string | number | null;

export interface SqlDb {
  /** Run a statement and return its rows (empty for statements without results). */
  all<T extends Record<string, SqlValue>>(sql: string, ...params: SqlValue[]): T[];
  /** Run a statement, discarding rows. */
  run(sql: string, ...params: SqlValue[]): void;
  /** Run `fn` in one transaction (all or nothing). */
  transaction<T>(fn: () => T): T;
  /**
   * Run `fn` in one transaction that takes the write lock at its start (SQLite `BEGIN
   * IMMEDIATE`): a read-then-write sequence is then serialised against other connections to the
   * same file, instead of failing to upgrade its read lock halfway.
   */
  immediate<T>(fn: () => T): T;
}

/** Run a multi-statement schema script one statement at a time (DO SQL takes one per exec). */
export function applySchema(db: SqlDb, script: string): void {
  for (const stmt of script
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean))
    db.run(stmt);
}
