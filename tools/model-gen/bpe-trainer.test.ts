import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.ts';
import { byteLevelAlphabet, fromByteLevel, toByteLevel } from './byte-level.ts';
import { trainingCorpus } from './corpus/index.ts';
import { O200K_SPLIT_PATTERN, preTokenize } from './pre-tokenizer.ts';

const FIXTURE = new URL('../../test/fixtures/tiny-motif/', import.meta.url);
const fixtureJson = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURE), 'utf8'));
const expected = fixtureJson('expected.json') as { tokenizer: { text: string; tokens: string[] }[]; chat: { prompt: string } };
const SPECIAL = /(<\|endoftext\|>|<\|im_start\|>|<\|im_end\|>)/;
/** Fixture strings with special tokens cut out (they never reach the pre-tokenizer). */
const fixtureSegments = [...expected.tokenizer.map((t) => t.text), expected.chat.prompt].flatMap((t) => t.split(SPECIAL)).filter((s) => s && !SPECIAL.test(s));
const alphabet = byteLevelAlphabet();

describe('byte-level alphabet', () => {
  it('has 256 distinct printable characters in GPT-2 order', () => {
    expect(new Set(alphabet.order).size).toBe(256);
    expect(alphabet.order[0]).toBe('!');
    expect(alphabet.order[220]).toBe('Ġ');
    expect(alphabet.order[198]).toBe('Ċ');
    expect(alphabet.byteToChar[0x20]).toBe('Ġ');
  });

  it('round-trips UTF-8 text', () => {
    for (const s of ['héllo 안녕 🤖\n\t', '']) expect(fromByteLevel(alphabet, toByteLevel(alphabet, s))).toBe(s);
  });

  it('agrees with the fixture vocabulary for the 256 byte tokens', () => {
    const vocab = fixtureJson('tokenizer.json').model.vocab as Record<string, number>;
    alphabet.order.forEach((ch, id) => expect(vocab[ch]).toBe(id));
  });
});

describe('pre-tokenizer', () => {
  it('carries exactly the fixture tokenizer.json Split pattern', () => {
    const split = fixtureJson('tokenizer.json').pre_tokenizer.pretokenizers[0];
    expect(O200K_SPLIT_PATTERN).toBe(split.pattern.Regex);
  });

  it('splits like @huggingface/tokenizers with the fixture tokenizer on fixture strings and the corpus', () => {
    const fixture = new Tokenizer(fixtureJson('tokenizer.json'), fixtureJson('tokenizer_config.json'));
    for (const text of [...fixtureSegments, ...trainingCorpus()]) {
      const ours = preTokenize(text).map((p) => toByteLevel(alphabet, p));
      expect(ours).toEqual(fixture.pre_tokenizer!.pre_tokenize_text(text));
    }
  });

  it('never cuts through a fixture token (fixture tokens come from the reference tokenizer)', () => {
    for (const t of expected.tokenizer) {
      if (SPECIAL.test(t.text)) continue;
      const boundaries = new Set<number>([0]);
      let at = 0;
      for (const p of preTokenize(t.text)) boundaries.add((at += toByteLevel(alphabet, p).length));
      let pos = 0;
      for (const tok of t.tokens) {
        const end = pos + tok.length;
        for (let i = pos + 1; i < end; i++) expect(boundaries.has(i), `token ${tok} crosses a piece boundary`).toBe(false);
        pos = end;
      }
      expect(boundaries.has(pos)).toBe(true);
    }
  });

  it.each([
    ['contractions stay with their word', "It's WE'LL", ["It's", " WE'LL"]],
    ['digits in groups of three', '1234567', ['123', '456', '7']],
    ['punctuation takes trailing newlines', 'end.\n\nNext', ['end', '.\n\n', 'Next']],
    ['spaces before a word: all but one stand alone', 'a   b', ['a', '  ', ' b']],
    ['Korean words with a leading space', '안녕 세계', ['안녕', ' 세계']],
  ])('%s', (_name, text, pieces) => {
    expect(preTokenize(text)).toEqual(pieces);
  });
});

describe('trainByteLevelBpe', () => {
  it('is deterministic and reaches the target size', () => {
    const a = trainByteLevelBpe({ documents: trainingCorpus(), vocabSize: 509 });
    const b = trainByteLevelBpe({ documents: trainingCorpus(), vocabSize: 509 });
    expect(a).toEqual(b);
    expect(a.vocab).toHaveLength(509);
    expect(a.vocab.slice(0, 256)).toEqual(alphabet.order);
    expect(new Set(a.vocab).size).toBe(a.vocab.length);
    // Every merge result is in the vocabulary; every learned token comes from a merge.
    const vocab = new Set(a.vocab);
    for (const [l, r] of a.merges) expect(vocab.has(l + r)).toBe(true);
    expect(new Set(a.merges.map(([l, r]) => l + r))).toEqual(new Set(a.vocab.slice(256)));
  });

  it('merges the most frequent pair first and breaks ties by token order', () => {
    // Pieces "ab", " ab"×2, " cd"×3, " xy"×2: (a,b), (c,d) and (Ġ,c) all occur 3×, (Ġ,a) 2×.
    // Ties go to the smaller left token: "a" < "c" < "Ġ".
    const m = trainByteLevelBpe({ documents: ['ab ab ab cd cd cd xy xy'], vocabSize: 256 + 3 });
    expect(m.merges).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['Ġ', 'cd'],
    ]);
    // Frequency beats order: "yz" (4×) is merged before "ab" (2×).
    const f = trainByteLevelBpe({ documents: ['yz,yz,yz,yz,ab,ab'], vocabSize: 257 });
    expect(f.merges).toEqual([['y', 'z']]);
  });

  it('stops below the minimum frequency instead of inventing merges', () => {
    const m = trainByteLevelBpe({ documents: ['abc'], vocabSize: 300 });
    expect(m.merges).toEqual([]);
    expect(m.vocab).toHaveLength(256);
  });

  it('learns frequent words of each corpus language', () => {
    const m = trainByteLevelBpe({ documents: trainingCorpus(), vocabSize: 509 });
    const learned = new Set(m.vocab.map((t) => fromByteLevel(alphabet, t)));
    for (const w of [' the', ' and', ' return', '니다']) expect(learned.has(w), w).toBe(true);
  });

  it('rejects a target below the byte alphabet', () => {
    expect(() => trainByteLevelBpe({ documents: ['x'], vocabSize: 100 })).toThrow(RangeError);
  });
});
