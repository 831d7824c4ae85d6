import { describe, expect, it } from 'vitest';
import { assertMaySpeakFor, parseNodeKeys, replicaOfNode } from './node-keys.ts';

const S = '0123456789abcdef';

describe('parseNodeKeys', () => {
  it('binds each key to its node; several keys may name one node (rotation)', () => {
    const keys = parseNodeKeys(`old:${S}-old@gpu1, new:${S}-new@gpu1 ,b:${S}@rack:7`);
    expect([...keys.nodeOf]).toEqual([
      ['old', 'gpu1'],
      ['new', 'gpu1'],
      ['b', 'rack:7'],
    ]);
    expect(keys.ring.get('new')).toBe(`${S}-new`);
  });

  it('keeps a secret that contains @ or :', () => {
    expect(parseNodeKeys(`k:a@b:c${S}@n1`).ring.get('k')).toBe(`a@b:c${S}`);
  });

  it.each([
    ['', /no node keys/],
    [`k:${S}`, /kid:secret@node/],
    [`:${S}@n`, /kid:secret@node/],
    ['k:short@n', /at least 16/],
    [`k:${S}@n,k:${S}x@m`, /appears twice/],
    [`a:${S}@gpu,b:${S}@gpu-2`, /overlap/],
  ])('refuses %j', (spec, message) => {
    expect(() => parseNodeKeys(spec)).toThrow(message);
  });
});

describe('what a node key may speak for', () => {
  const keys = parseNodeKeys(`k1:${S}@gpu1`);

  it('the node itself and <node>-… replicas, nothing else', () => {
    expect(replicaOfNode('gpu1', 'gpu1')).toBe(true);
    expect(replicaOfNode('gpu1', 'gpu1-gcd0')).toBe(true);
    expect(replicaOfNode('gpu1', 'gpu1-')).toBe(false);
    expect(replicaOfNode('gpu1', 'gpu10-gcd0')).toBe(false);
    expect(replicaOfNode('gpu1', 'gpu2-gcd0')).toBe(false);
  });

  it('refuses another replica or node with 403 naming the field, an unknown key with 401', () => {
    expect(() => assertMaySpeakFor(keys, 'k1', 'gpu1-gcd1', 'gpu1')).not.toThrow();
    expect(() => assertMaySpeakFor(keys, 'k1', 'gpu2-gcd0')).toThrow(expect.objectContaining({ status: 403, param: 'replica_id' }));
    expect(() => assertMaySpeakFor(keys, 'k1', 'gpu1-gcd0', 'gpu2')).toThrow(expect.objectContaining({ status: 403, param: 'node_id' }));
    expect(() => assertMaySpeakFor(keys, 'nope', 'gpu1')).toThrow(expect.objectContaining({ status: 401 }));
  });
});
