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

  it('requires a power-of-two block size', () => {
    expect(() => new KvCache({ ...layout, blockTokens: 6 }, 10, {})).toThrow(RangeError);
  });
});
