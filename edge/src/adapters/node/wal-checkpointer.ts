/**
 * WAL checkpoints off the event loop. SQLite checkpoints a WAL database from inside the commit
 * that pushes the log past `wal_autocheckpoint` pages (1000 by default): that commit copies the
 * log into the database file and fsyncs it, on the calling thread. better-sqlite3 is synchronous,
 * so every few hundred requests one of them — and every request and stream the edge holds —
 * waits the milliseconds of that fsync (the limiter alone reached one every ~1,000 operations,
 * each an 8 ms stall).
 *
 * Here a worker thread holds its own connection to each file and runs PASSIVE checkpoints every
 * `intervalMs` (they never wait for the edge's readers or writer). The edge's own connections
 * keep an automatic checkpoint only as a backstop far above what the worker lets the log reach
 * (`BACKSTOP_PAGES`), so a stalled or dead worker cannot let a WAL grow without bound.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { SQLITE_DRIVER } from '#shared/adapters/node/sqlite-driver.ts';

/** Automatic checkpoint threshold left on the edge's connections: reached only if the worker stops. */
export const BACKSTOP_PAGES = 20_000;

export interface WalCheckpointer {
  close(): Promise<void>;
}

export interface WalCheckpointerOptions {
  /** Time between two rounds of checkpoints (default 200 ms). */
  intervalMs?: number;
  /** A checkpoint that failed (the file stays usable; the next round tries again). */
  onError?: (file: string, message: string) => void;
}

// CommonJS source of the worker: one better-sqlite3 connection per file, a PASSIVE checkpoint of
// each per round. A file that cannot be opened or checkpointed is retried next round and reported
// once per failure streak, so a missing file neither stops the others nor floods the log.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const files = workerData.files.map((file) => ({ file, db: undefined, failing: false }));
const round = () => {
  for (const f of files) {
    try {
      if (!f.db) {
        f.db = new Database(f.file, { fileMustExist: true });
        f.db.pragma('busy_timeout = 50');
        f.db.pragma('synchronous = NORMAL');
      }
      f.db.pragma('wal_checkpoint(PASSIVE)');
      f.failing = false;
    } catch (err) {
      if (!f.failing) parentPort.postMessage({ file: f.file, message: String((err && err.message) || err) });
      f.failing = true;
    }
  }
};
const timer = setInterval(round, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  round();
  for (const f of files) if (f.db) f.db.close();
  parentPort.close();
});
`;

/** Start checkpointing `files` (already opened in WAL mode by the edge) from a worker thread. */
export function startWalCheckpointer(files: readonly string[], opts: WalCheckpointerOptions = {}): WalCheckpointer {
  const intervalMs = opts.intervalMs ?? 200;
  if (!(Number.isInteger(intervalMs) && intervalMs >= 10 && intervalMs <= 60_000)) throw new Error('WAL checkpointer: intervalMs must be 10..60000');
  const driver = createRequire(import.meta.url).resolve(SQLITE_DRIVER);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { files: [...files], intervalMs, driver } });
  // The edge must still exit when everything else is done; close() ends the worker cleanly.
  worker.unref();
  const onError = opts.onError ?? (() => {});
  worker.on('message', (m: { file: string; message: string }) => onError(m.file, m.message));
  worker.on('error', (err) => onError('(worker)', err.message));
  let exited = false;
  worker.once('exit', () => {
    exited = true;
  });
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (exited) return resolve();
        worker.once('exit', () => resolve());
        worker.postMessage('close');
        // A worker stuck in a checkpoint must not hold up shutdown.
        setTimeout(() => void worker.terminate(), 2000).unref();
      });
      return closing;
    },
  };
}
