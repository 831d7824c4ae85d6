/**
 * The node-wide swap lock (rollout/ports.ts SwapLock): a lock file `swap.lock` in the weights
 * store the node's replicas share, so they drain and swap one at a time while the others keep
 * serving. Same mechanics as the store's writer lock (exclusive create, owner pid, a dead
 * owner's lock is taken over) but a different file: staging a revision must not wait for
 * another replica's drain.
 */
import path from 'node:path';
import type { SwapLock } from '../../ports.ts';
import { ensureLayout, storeLayout } from './weights/store.ts';
import { withStoreLock } from './weights/store-lock.ts';

export const SWAP_LOCK_FILE = 'swap.lock';

/**
 * A swap lock on the store at `storeDir`. `waitMs` bounds the wait for another replica's swap;
 * when it passes the update fails and is retried on a later poll.
 */
export function createNodeSwapLock(storeDir: string, opts: { waitMs?: number } = {}): SwapLock {
  const base = storeLayout(storeDir);
  const layout = { ...base, lock: path.join(base.root, SWAP_LOCK_FILE) };
  const waitMs = opts.waitMs ?? 30 * 60_000;
  return {
    async run(fn, signal) {
      await ensureLayout(base);
      return withStoreLock(layout, fn, { waitMs, signal });
    },
  };
}
