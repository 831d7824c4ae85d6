import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createHasher, type Hasher } from './hasher.ts';

let h: Hasher | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

describe('hasher buffer pool', () => {
  it('never allocates past maxBuffers: acquire waits for a buffer the worker gives back, first come first served', async () => {
    h = createHasher({ bufferBytes: 1024, maxBuffers: 2 });
    const a = await h.acquire();
    const b = await h.acquire();
    const order: string[] = [];
    const third = h.acquire().then((buf) => (order.push('third'), buf));
    const fourth = h.acquire().then((buf) => (order.push('fourth'), buf));
    expect(h.allocated).toBe(2);
    // Hashing `a` hands its buffer back from the worker: the oldest waiter gets it.
    a.fill(1, 0, 100);
    h.updateData('job', a, 100);
    const c = await third;
    expect(c).toBe(a);
    h.release(b);
    expect(await fourth).toBe(b);
    expect(order).toEqual(['third', 'fourth']);
    expect(h.allocated).toBe(2);
    expect(await h.digest('job')).toBe(createHash('sha256').update(Buffer.alloc(100, 1)).digest('hex'));
  });

  it('an aborted wait rejects and does not take a buffer from the next waiter', async () => {
    h = createHasher({ bufferBytes: 64, maxBuffers: 1 });
    const a = await h.acquire();
    const ctl = new AbortController();
    const cancelled = h.acquire(ctl.signal);
    const next = h.acquire();
    ctl.abort(new Error('stop'));
    await expect(cancelled).rejects.toThrow('stop');
    h.release(a);
    expect(await next).toBe(a);
    await expect(h.acquire(ctl.signal)).rejects.toThrow('stop');
  });

  it('a buffer held by the worker comes back to the one waiting for it', async () => {
    h = createHasher({ bufferBytes: 1 << 20, maxBuffers: 1 });
    const a = await h.acquire();
    h.updateData('big', a, a.length);
    expect(await h.acquire()).toBe(a);
    expect(await h.digest('big')).toMatch(/^[0-9a-f]{64}$/);
  });
});
