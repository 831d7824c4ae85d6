/**
 * The better-sqlite3 build for the running Node, for every SQLite store of the edge and the origin.
 *
 * better-sqlite3 12 wraps its objects in `node::ObjectWrap`, whose destructor aborts the process
 * on Node ≥ 24.19 ("Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook) when V8
 * collects a statement outside JavaScript, e.g. in an idle GC; 13 (built on node-addon-api) does
 * not, but crashes on Node 20. Both are installed — 13 under the alias `better-sqlite3-13` — and
 * each Node loads the one that works on it. Their API and types are the same.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const major = Number(process.versions.node.split('.')[0]);

/** The package to load (a worker thread that opens its own connections loads the same one). */
export const SQLITE_DRIVER = major >= 22 ? 'better-sqlite3-13' : 'better-sqlite3';

/** The driver's Database class (and its statics, e.g. `SqliteError`). */
export const Database = createRequire(import.meta.url)(SQLITE_DRIVER) as typeof BetterSqlite3;

/** An open connection. */
export type SqliteDatabase = BetterSqlite3.Database;

/** A prepared statement. */
export type SqliteStatement = BetterSqlite3.Statement;
