import { describe, expect, it } from 'vitest';
import { classifyKey, crc32, generateKey, isPlausibleKey, randomId, visiblePrefix } from './key-format.ts';

describe('key format', () => {
  it('generates mtf_live_/mtf_test_ keys of 32 random base62 characters and a checksum that verifies', () => {
    for (const mode of ['live', 'test'] as const) {
      const key = generateKey(mode);
      expect(key).toMatch(new RegExp(`^mtf_${mode}_[0-9A-Za-z]{38}$`));
      expect(classifyKey(key)).toBe('checked');
    }
    expect(generateKey()).toMatch(/^mtf_live_/);
    expect(new Set(Array.from({ length: 200 }, () => generateKey())).size).toBe(200);
  });

  it('refuses every single-character typo of a key (CRC32 catches them all)', () => {
    const key = generateKey();
    let refused = 0;
    let tried = 0;
    for (let i = 'mtf_live_'.length; i < key.length; i++) {
      for (const ch of ['0', 'a', 'Z']) {
        if (key[i] === ch) continue;
        tried++;
        if (classifyKey(key.slice(0, i) + ch + key.slice(i + 1)) === 'invalid') refused++;
      }
    }
    expect(refused).toBe(tried);
  });

  it.each([
    { name: 'random mtf_ string', key: `mtf_live_${'a'.repeat(38)}`, want: 'invalid' },
    { name: 'wrong mode', key: generateKey().replace('mtf_live_', 'mtf_prod_'), want: 'invalid' },
    { name: 'truncated', key: generateKey().slice(0, -1), want: 'invalid' },
    { name: 'legacy dev key', key: 'sk-motif-dev-local-0123456789abcdef', want: 'legacy' },
    { name: 'too short', key: 'sk-short', want: 'invalid' },
    { name: 'non-ASCII', key: 'sk-motif-ключ-0123456789abcdef', want: 'invalid' },
  ])('classifies $name as $want', ({ key, want }) => {
    expect(classifyKey(key)).toBe(want);
  });

  it('uses every base62 character about equally (rejection sampling, no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) for (const ch of generateKey().slice(9, 41)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 12 800 draws over 62 characters: ~206 each; a bias of 256 mod 62 would skew the first 8 by ~25 %.
    for (const n of counts.values()) expect(n).toBeGreaterThan(130);
  });

  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  it('shows only the mode and four random characters', () => {
    const key = generateKey('test');
    expect(visiblePrefix(key)).toBe(key.slice(0, 13));
    expect(visiblePrefix('sk-motif-dev-local-0123456789abcdef')).toBe('sk-motif-dev');
    expect(randomId(20)).toMatch(/^[0-9A-Za-z]{20}$/);
    expect(isPlausibleKey('x'.repeat(257))).toBe(false);
  });
});
