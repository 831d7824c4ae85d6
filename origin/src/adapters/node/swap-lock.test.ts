import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSwapLock, SWAP_LOCK_FILE } from './swap-lock.ts';

let store: string;
beforeEach(async () => {
  store = await fs.mkdtemp(path.join(os.tmpdir(), 'swap-lock-'));
});
afterEach(async () => {
  await fs.rm(store, { recursive: true, force: true });
});

describe('node swap lock', () => {
  it('runs one holder at a time, across lock objects on the same store', async () => {
    const order: string[] = [];
    const hold = (name: string) => async () => {
      order.push(`${name} in`);
      await new Promise((r) => setTimeout(r, 30));
      order.push(`${name} out`);
    };
    const signal = new AbortController().signal;
    await Promise.all([createNodeSwapLock(store).run(hold('x'), signal), createNodeSwapLock(store).run(hold('y'), signal)]);
    expect(order).toHaveLength(4);
    expect(order[1]).toBe(`${order[0]!.split(' ')[0]} out`);
    await expect(fs.stat(path.join(store, SWAP_LOCK_FILE))).rejects.toThrow();
  });

  it('does not block the store writer lock (a sync may stage while another replica swaps)', async () => {
    const lock = createNodeSwapLock(store);
    await lock.run(async () => {
      await expect(fs.stat(path.join(store, 'lock'))).rejects.toThrow();
      expect((await fs.readFile(path.join(store, SWAP_LOCK_FILE), 'utf8')).split(' ')[0]).toBe(String(process.pid));
    }, new AbortController().signal);
  });

  it('a waiter gives up when its signal aborts or the wait passes', async () => {
    let release!: () => void;
    let acquired!: () => void;
    const holding = new Promise<void>((r) => (acquired = r));
    const held = createNodeSwapLock(store).run(() => {
      acquired();
      return new Promise<void>((r) => (release = r));
    }, new AbortController().signal);
    // Taking the lock is file I/O on libuv's pool: wait until it is held, not for a fixed time.
    await holding;
    const ac = new AbortController();
    const waiting = createNodeSwapLock(store).run(async () => 'ran', ac.signal);
    ac.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    await expect(createNodeSwapLock(store, { waitMs: 0 }).run(async () => 'ran', new AbortController().signal)).rejects.toThrow('locked by process');
    release();
    await held;
    expect(await createNodeSwapLock(store).run(async () => 'ran', new AbortController().signal)).toBe('ran');
  });
});
