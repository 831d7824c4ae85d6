/**
 * A Durable Object's SQLite storage as the stores' SqlDb, so the DOs run the same schema and
 * queries as the Node SQLite adapter. `transactionSync` is the DO's transaction primitive (SQL
 * BEGIN/COMMIT are not allowed there).
 */
import type { DurableObjectStorage } from '@cloudflare/workers-types';
import type { SqlDb, SqlValue } from '../../stores/sql.ts';

/** Wrap `ctx.storage` of a SQLite-backed Durable Object. */
export function doSql(storage: DurableObjectStorage): SqlDb {
  return {
    // toArray() also drains write statements, which only run as their cursor is consumed.
    all: <T extends Record<string, SqlValue>>(sql: string, ...params: SqlValue[]) => storage.sql.exec<T>(sql, ...params).toArray(),
    run: (sql, ...params) => {
      storage.sql.exec(sql, ...params).toArray();
    },
    transaction: (fn) => storage.transactionSync(fn),
    // An object's storage has one writer, its own single thread: every transaction is exclusive.
    immediate: (fn) => storage.transactionSync(fn),
  };
}
