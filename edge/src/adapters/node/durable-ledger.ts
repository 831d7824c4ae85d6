/**
 * The usage ledger on SQLite, durable before each acknowledgement without an fsync on the event
 * loop. Origins delete usage records once the edge acknowledges them, so an acknowledged batch
 * must survive power loss. `synchronous = FULL` gives that by fsyncing the WAL inside COMMIT, on
 * the calling thread: with a synchronous driver that blocks the whole edge, every client stream
 * included, for the fsync's milliseconds, several times a second under load.
 *
 * Here the ledger's connection commits with `synchronous = NORMAL` (WAL written, not synced) and
 * the acknowledgement then waits for an fsync of the WAL file run on libuv's thread pool. fsync
 * covers the file, whichever descriptor asks, so the commit is on disk before the origin hears of
 * it — the same guarantee, while the event loop keeps serving. Commits that land while an fsync
 * runs share the next one (and group commit already batches what arrives within a few ms).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { ApiError } from '#shared/errors.ts';
import type { Ledger } from '../../ports.ts';
import { groupCommit } from '../../stores/group-commit.ts';
import type { SqlDb } from '../../stores/sql.ts';
import { ledgerInsert, sqlLedger } from '../../stores/sql-ledger.ts';

/** A function that resolves once everything written to `file` before it was called is on disk. */
export function fileSyncer(file: string): { sync(): Promise<void>; close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const once = async () => {
    handle ??= open(file, 'r');
    try {
      await (await handle).sync();
    } catch (err) {
      // Opened afresh next time: a failed open must not fail every later sync.
      const failed = handle;
      handle = undefined;
      await (await failed.catch(() => undefined))?.close().catch(() => {});
      throw err;
    }
  };
  const start = (): Promise<void> => {
    const p = once().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return {
    sync() {
      if (!running) return start();
      // The running fsync may have started before the caller's write: wait for the next one,
      // which every caller arriving meanwhile shares.
      queued ??= running
        .catch(() => {})
        .then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
    async close() {
      await Promise.allSettled([running, queued]);
      await (await handle?.catch(() => undefined))?.close();
    },
  };
}

/**
 * Records inserted per transaction. An origin delivers up to hundreds of records at once; inserted
 * in one go they would hold the event loop (and every request the edge is serving) for
 * milliseconds. In slices, requests run between them. A batch that fails midway is not
 * acknowledged and comes again whole: the slices already in are then counted as duplicates.
 */
export const LEDGER_SLICE_RECORDS = 25;

/** The ledger over `db` (a NORMAL-synchronous connection to `file`): group commit, then an off-loop fsync of its WAL before answering. */
export function durableLedger(db: SqlDb, file: string): Ledger & { close(): Promise<void> } {
  const ledger = sqlLedger(db);
  const wal = fileSyncer(`${file}-wal`);
  // Slices that arrive in one turn of the event loop (several origins delivering) share a transaction.
  const commit = groupCommit(db, (b: { records: Parameters<Ledger['insert']>[0]; at: number }) => ledgerInsert(db, b.records, b.at), {
    defer: (flush) => setImmediate(flush),
  });
  return {
    ...ledger,
    async insert(records, receivedAt) {
      const result = { accepted: 0, duplicates: 0 };
      for (let i = 0; i < records.length; i += LEDGER_SLICE_RECORDS) {
        const slice = await commit({ records: records.slice(i, i + LEDGER_SLICE_RECORDS), at: receivedAt });
        result.accepted += slice.accepted;
        result.duplicates += slice.duplicates;
      }
      try {
        await wal.sync();
      } catch (err) {
        // Committed but maybe not on disk: not acknowledged, so the origin delivers it again
        // (the ledger is idempotent on the records' ids).
        throw new ApiError(
          'storage_unavailable',
          `The edge's usage ledger could not sync to disk (${(err as NodeJS.ErrnoException).code ?? 'fsync'}). Please retry.`,
          {
            retryAfter: 1,
            cause: err,
          },
        );
      }
      return result;
    },
    close: () => wal.close(),
  };
}
