import { describe, expect, it } from 'vitest';
import { nodeDigests } from '../adapters/node/digests.ts';
import { hashesEqual, pepperedKeyHasher, withHashCache } from './key-hash.ts';

const webCryptoKeyHasher = (pepper: string) => pepperedKeyHasher(pepper);
const nodeKeyHasher = (pepper: string) => pepperedKeyHasher(pepper, nodeDigests);

const PEPPER = 'unit-test-pepper-0123456789abcdefgh';

describe('key hashing', () => {
  it('is HMAC-SHA256 under the pepper, the same on Web Crypto and node:crypto', async () => {
    const web = webCryptoKeyHasher(PEPPER);
    const node = nodeKeyHasher(PEPPER);
    const secret = 'mtf_live_example';
    expect(await web(secret)).toBe(node(secret));
    expect(await web(secret)).toMatch(/^[0-9a-f]{64}$/);
    // Another pepper gives another hash: a copy of the table alone cannot test guesses.
    expect(nodeKeyHasher(`${PEPPER}x`)(secret)).not.toBe(node(secret));
    // The cache returns the same answer.
    expect(await web(secret)).toBe(node(secret));
  });

  it('caches hashes of presented secrets, bounded', async () => {
    let calls = 0;
    const hash = withHashCache(
      (s) => {
        calls++;
        return `h:${s}`;
      },
      { cacheEntries: 2 },
    );
    expect([hash('a'), hash('a'), hash('b'), hash('b')]).toEqual(['h:a', 'h:a', 'h:b', 'h:b']);
    expect(calls).toBe(2);
    hash('c'); // full: the map starts over
    hash('a');
    expect(calls).toBe(4);
    expect(() => withHashCache((s) => s, { cacheEntries: -1 })).toThrow(/cacheEntries/);
  });

  it('refuses a pepper shorter than 32 characters', () => {
    expect(() => webCryptoKeyHasher('short')).toThrow(/at least 32/);
    expect(() => nodeKeyHasher('short')).toThrow(/at least 32/);
  });

  it('compares digests exactly', () => {
    expect(hashesEqual('abcd', 'abcd')).toBe(true);
    expect(hashesEqual('abcd', 'abce')).toBe(false);
    expect(hashesEqual('abcd', 'abc')).toBe(false);
  });
});
