import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { KvCache } from './kv-cache.ts';

const layout = { layers: 2, width: 3, blockTokens: 4 };

describe('KvCache', () => {
  it('allocates blocks as it grows and places positions by block', () => {
    const c = new KvCache(layout, 100, {});
    expect(c.allocatedBytes()).toBe(0);
    c.reserve(5);
    expect(c.allocatedBytes()).toBe(2 * 2 * 2 * 4 * 3 * 4); // 2 blocks × K,V × 2 layers × 4 pos × 3 × f32
    const k = Float32Array.of(0, 0, 0, 7, 8, 9);
    const v = Float32Array.of(1, 2, 3);
    c.write(1, 5, k, 3, v, 0);
    c.commit(6);
    expect(c.length).toBe(6);
    const l = c.layer(1);
    expect([...l.k[1]!.subarray(3, 6)]).toEqual([7, 8, 9]);
    expect([...l.v[1]!.subarray(3, 6)]).toEqual([1, 2, 3]);
    expect(c.layer(0).k[1]![3]).toBe(0);
  });

  it('truncate frees whole blocks past the new length', () => {
    const c = new KvCache(layout, 100, {});
    c.reserve(12);
    c.commit(12);
    c.truncate(5);
    expect(c.length).toBe(5);
    expect(c.layer(0).k).toHaveLength(2);
    c.truncate(0);
    expect(c.allocatedBytes()).toBe(0);
  });

  it.each([-1, 7, 1.5])('refuses to truncate to %s', (n) => {
    const c = new KvCache(layout, 100, {});
    c.reserve(6);
    c.commit(6);
    expect(() => c.truncate(n)).toThrow(ApiError);
  });

  it('shares full blocks read-only and starts another cache on them', () => {
    const a = new KvCache(layout, 100, {});
    a.reserve(10);
    for (let p = 0; p < 10; p++) a.write(1, p, Float32Array.of(p, p, p), 0, Float32Array.of(-p, -p, -p), 0);
    a.commit(10);
    expect(() => a.shareBlock(2)).toThrow(/not full/);
    const blocks = [a.shareBlock(0), a.shareBlock(1)];
    expect(a.sharedBlocks).toBe(2);
    expect(() => a.write(0, 7, Float32Array.of(1, 1, 1), 0, Float32Array.of(1, 1, 1), 0)).toThrow(/read-only/);
    a.write(0, 8, Float32Array.of(1, 1, 1), 0, Float32Array.of(1, 1, 1), 0); // block 2 is still private

    const b = new KvCache(layout, 20, {});
    b.adoptBlocks(blocks);
    expect(b.length).toBe(8);
    expect(b.layer(1).k[1]).toBe(a.layer(1).k[1]); // the same memory, not a copy
    expect(b.layer(1).k[1]![3 * 3]).toBe(7);
    b.reserve(9);
    b.write(1, 8, Float32Array.of(42, 42, 42), 0, Float32Array.of(0, 0, 0), 0);
    expect(a.layer(1).k[2]![0]).toBe(8); // b's new block is its own
    expect(() => b.adoptBlocks(blocks)).toThrow(/empty cache/);
    expect(() => new KvCache({ ...layout, width: 4 }, 20, {}).adoptBlocks(blocks)).toThrow(/layout/);
    expect(() => new KvCache(layout, 4, {}).adoptBlocks(blocks)).toThrow(/capacity/);
  });

  it('truncating into a shared block copies it first (copy-on-write)', () => {
    const a = new KvCache(layout, 100, {});
    a.reserve(8);
    for (let p = 0; p < 8; p++) a.write(0, p, Float32Array.of(p, p, p), 0, Float32Array.of(p, p, p), 0);
    a.commit(8);
    const shared = [a.shareBlock(0), a.shareBlock(1)];
    const b = new KvCache(layout, 100, {});
    b.adoptBlocks(shared);
    b.truncate(6);
    expect(b.sharedBlocks).toBe(1);
    b.write(0, 6, Float32Array.of(99, 99, 99), 0, Float32Array.of(99, 99, 99), 0);
    b.commit(7);
    expect(a.layer(0).k[1]![2 * 3]).toBe(6); // the shared original is untouched
    expect(b.layer(0).k[1]![2 * 3]).toBe(99);
    expect(b.layer(0).k[1]![1 * 3]).toBe(5); // the copy kept the rows before the cut
    expect(b.layer(0).k[0]).toBe(a.layer(0).k[0]); // whole shared blocks stay shared
    b.truncate(4);
    expect(b.sharedBlocks).toBe(1);
    b.truncate(0);
    expect(b.sharedBlocks).toBe(0);
    expect(a.layer(0).k).toHaveLength(2);
  });

  it('sharing a later block first makes every block before it read-only too', () => {
    // A sequence whose block 0 had an identical twin in the prefix cache keeps its own copy
    // private and shares its block 1 first (the crash of a repeated README request).
    const a = new KvCache(layout, 100, {});
    a.reserve(10);
    for (let p = 0; p < 10; p++) a.write(0, p, Float32Array.of(p, p, p), 0, Float32Array.of(p, p, p), 0);
    a.commit(10);
    const b1 = a.shareBlock(1);
    expect(a.sharedBlocks).toBe(2);
    expect(() => a.write(0, 2, Float32Array.of(1, 1, 1), 0, Float32Array.of(1, 1, 1), 0)).toThrow(/read-only/);
    expect(a.shareBlock(0).k[0]).toBe(a.layer(0).k[0]);
    expect(b1.k[0]![0]).toBe(4);
    a.truncate(3); // into block 0: copied, so a later write cannot reach the one handed out
    a.write(0, 3, Float32Array.of(9, 9, 9), 0, Float32Array.of(9, 9, 9), 0);
    expect(b1.k[0]![0]).toBe(4);
    expect(a.sharedBlocks).toBe(0);
  });

  it('requires a power-of-two block size', () => {
    expect(() => new KvCache({ ...layout, blockTokens: 6 }, 10, {})).toThrow(RangeError);
  });
});
