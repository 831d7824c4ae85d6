import { describe, expect, it } from 'vitest';
import { GrammarCache } from '../../origin/src/engine/native/grammar/json-constraint.ts';
import { syntheticVocabulary, timeReplay, tokenizeGreedy } from './grammar-bench.ts';

describe('bench:grammar helpers', () => {
  const vocab = syntheticVocabulary(2000);

  it('builds a vocabulary of distinct byte strings covering every byte', () => {
    expect(vocab.size).toBe(2000);
    const seen = new Set(Array.from({ length: vocab.size }, (_, id) => Array.from(vocab.tokenBytes(id)).join(',')));
    expect(seen.size).toBe(2000);
    for (let b = 0; b < 256; b++) expect(seen.has(String(b))).toBe(true);
  });

  it('tokenizes greedily back to the same bytes', () => {
    const text = '{"name":"김민지","n":12}';
    const ids = tokenizeGreedy(vocab, text);
    const bytes = ids.flatMap((id) => Array.from(vocab.tokenBytes(id)));
    expect(new TextDecoder().decode(Uint8Array.from(bytes))).toBe(text);
  });

  it('replays a valid document and refuses one the schema masks', () => {
    const format = {
      type: 'json_schema' as const,
      schema: { type: 'object', properties: { n: { type: 'integer', maximum: 50 } }, required: ['n'], additionalProperties: false },
    };
    const cache = new GrammarCache(vocab, [], vocab.size);
    let t = 0;
    const clock = () => t++;
    expect(timeReplay(tokenizeGreedy(vocab, '{"n":12}'), vocab.size, cache.constraint(format), clock).tokens).toBeGreaterThan(0);
    expect(() => timeReplay(tokenizeGreedy(vocab, '{"n":99}'), vocab.size, cache.constraint(format), clock)).toThrow(/masked/);
  });
});
