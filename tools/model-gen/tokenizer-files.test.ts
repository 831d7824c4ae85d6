import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.ts';
import { trainingCorpus } from './corpus/index.ts';
import { buildTokenizerFiles, naturalVocabSize } from './tokenizer-files.ts';

const FIXTURE = new URL('../../test/fixtures/tiny-motif/', import.meta.url);
const fixtureJson = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURE), 'utf8'));
const expected = fixtureJson('expected.json') as { tokenizer: { text: string }[]; chat: { messages: { role: string; content: string }[]; prompt: string } };

const bpe = trainByteLevelBpe({ documents: trainingCorpus(), vocabSize: 509 });
const natural = naturalVocabSize(bpe);
const files = buildTokenizerFiles(bpe, natural, 2048);
// Round-trip through JSON text, as the files on disk are.
const load = (f: typeof files) => new Tokenizer(JSON.parse(JSON.stringify(f.tokenizerJson)), JSON.parse(JSON.stringify(f.tokenizerConfig)));
const tok = load(files);

const SAMPLES = [
  ...trainingCorpus(),
  ...expected.tokenizer.map((t) => t.text).filter((t) => !t.includes('<|')),
  '모티프는 한국어와 영어를 모두 이해합니다. 오늘 날씨가 좋네요!',
  'Emoji 🤖❤️👍🏽 🇰🇷 👨‍👩‍👧 and symbols ½ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u0000\u0007 \uFEFF',
  '   leading\t\ttabs\r\n\r\n trailing   ',
];

describe('generated tokenizer.json', () => {
  it('has the shape of the fixture tokenizer (same components and settings)', () => {
    const fixture = fixtureJson('tokenizer.json');
    const ours = files.tokenizerJson as Record<string, any>;
    expect(Object.keys(ours)).toEqual(Object.keys(fixture));
    for (const key of ['pre_tokenizer', 'post_processor', 'decoder', 'normalizer', 'truncation', 'padding', 'version']) expect(ours[key]).toEqual(fixture[key]);
    const { vocab: _v, merges, ...modelSettings } = ours.model;
    const { vocab: _fv, merges: _fm, ...fixtureSettings } = fixture.model;
    expect(modelSettings).toEqual(fixtureSettings);
    expect(merges.every((m: unknown) => Array.isArray(m) && m.length === 2)).toBe(true);
    expect(ours.added_tokens.map((t: any) => t.content)).toEqual(fixture.added_tokens.map((t: any) => t.content));
  });

  it('puts the three special tokens at the top ids', () => {
    expect(natural).toBe(512);
    expect(files.specialIds).toEqual({ endOfText: 509, imStart: 510, imEnd: 511 });
    expect(tok.encode('<|im_start|>user\nhi<|im_end|>\n<|endoftext|>').ids).toEqual(expect.arrayContaining([510, 511, 509]));
    expect(tok.encode('<|im_start|>').ids).toEqual([510]);
  });

  it('round-trips text exactly: corpus, fixture strings, Korean, emoji, control characters', () => {
    for (const text of SAMPLES) {
      const { ids } = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
      expect(Math.max(...ids)).toBeLessThan(natural);
    }
  });

  it('compresses its own corpus (merges are applied)', () => {
    // Only ~250 merges: English/code land near 0.5–0.6 tokens per byte, emoji-heavy text higher.
    let tokens = 0;
    let bytes = 0;
    for (const doc of trainingCorpus()) {
      const n = tok.encode(doc).ids.length;
      const b = new TextEncoder().encode(doc).length;
      expect(n).toBeLessThan(0.85 * b);
      tokens += n;
      bytes += b;
    }
    expect(tokens / bytes).toBeLessThan(0.65);
  });

  it('decodes special tokens unless told to skip them', () => {
    const ids = tok.encode('<|im_start|>assistant\nok<|im_end|>').ids;
    expect(tok.decode(ids)).toBe('<|im_start|>assistant\nok<|im_end|>');
    expect(tok.decode(ids, { skip_special_tokens: true })).toBe('assistant\nok');
  });
});

describe('vocabulary padding', () => {
  const padded = buildTokenizerFiles(bpe, 3000, 16_384);
  const ptok = load(padded);

  it('pads with reserved tokens and keeps the specials at the top', () => {
    const vocab = (padded.tokenizerJson as any).model.vocab as Record<string, number>;
    expect(Object.keys(vocab)).toHaveLength(2997);
    expect(vocab['<|reserved_0|>']).toBe(509);
    expect(vocab['<|reserved_2487|>']).toBe(2996);
    expect(padded.specialIds).toEqual({ endOfText: 2997, imStart: 2998, imEnd: 2999 });
    expect(ptok.encode('<|im_end|>').ids).toEqual([2999]);
  });

  it('never produces a reserved token and encodes exactly like the unpadded tokenizer', () => {
    for (const text of [...SAMPLES, '<|reserved_0|> <|reserved_12|>'])
      expect(ptok.encode(text).ids).toEqual(tok.encode(text).ids.map((id) => (id >= 509 ? id - 512 + 3000 : id)));
  });

  it('scales to the real 219,520-id vocabulary', () => {
    const full = load(buildTokenizerFiles(bpe, 219_520, 16_384));
    expect(full.encode('<|im_start|>user\nhi<|im_end|>').ids).toEqual(
      tok.encode('<|im_start|>user\nhi<|im_end|>').ids.map((id) => (id >= 509 ? id - 512 + 219_520 : id)),
    );
    expect(full.decode([219_000, 219_519])).toBe('<|reserved_218491|><|im_end|>');
  });

  it('rejects a vocab_size below the tokenizer size', () => {
    expect(() => buildTokenizerFiles(bpe, 511, 128)).toThrow(RangeError);
  });
});

describe('tokenizer_config.json', () => {
  it('carries the settings and special tokens of the fixture config', () => {
    const fixture = fixtureJson('tokenizer_config.json');
    const ours = files.tokenizerConfig as Record<string, any>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(fixture).sort());
    expect(ours.clean_up_tokenization_spaces).toBe(false);
    expect(ours.model_max_length).toBe(2048);
    expect(Object.keys(ours.added_tokens_decoder)).toEqual(['509', '510', '511']);
    expect(files.specialTokensMap).toEqual(fixtureJson('special_tokens_map.json'));
  });

  it('renders the fixture chat exactly, with and without the generation prompt', () => {
    const template = new Template((files.tokenizerConfig as any).chat_template);
    expect(template.render({ messages: expected.chat.messages, add_generation_prompt: true })).toBe(expected.chat.prompt);
    expect(template.render({ messages: expected.chat.messages, add_generation_prompt: false })).toBe(
      expected.chat.prompt.replace(/<\|im_start\|>assistant\n$/, ''),
    );
  });
});
