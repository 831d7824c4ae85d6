import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { loadTokenizerDir } from '../../../adapters/node/engine/tokenizer-files.ts';
import { cleanUpTokenizationSpaces, MotifTokenizer } from './tokenizer.ts';

const FIXTURE = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));
const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as {
  tokenizer: { text: string; ids: number[]; tokens: string[]; decoded: string }[];
  chat: { messages: { role: string; content: string }[]; prompt: string; ids: number[]; greedy_new_ids: number[]; greedy_new_text: string };
  cases: { name: string; greedy_new_ids: number[]; greedy_new_text: string }[];
};
const sources = {
  tokenizerJson: JSON.parse(readFileSync(`${FIXTURE}tokenizer.json`, 'utf8')) as unknown,
  tokenizerConfig: JSON.parse(readFileSync(`${FIXTURE}tokenizer_config.json`, 'utf8')) as Record<string, unknown>,
};

describe('MotifTokenizer on the tiny-motif fixture', async () => {
  const { tokenizer, chatTemplate } = await loadTokenizerDir(FIXTURE);

  it.each(expected.tokenizer.map((c, i) => [i, c] as const))('case %i: ids exact and decode round-trips', (_i, c) => {
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
    expect(tokenizer.decode(c.ids)).toBe(c.decoded);
  });

  it('minTokens is a lower bound on the encoded length, and grows with the text', () => {
    const texts = [...expected.tokenizer.map((c) => c.text), expected.chat.prompt, '안녕하세요 '.repeat(50), '🙂'.repeat(30), ' '.repeat(200), '\ud800 lone'];
    for (const t of texts) expect(tokenizer.minTokens(t)).toBeLessThanOrEqual(tokenizer.encode(t, { addSpecialTokens: false }).length);
    expect(tokenizer.minTokens('x'.repeat(1_000_000))).toBeGreaterThan(10_000);
  });

  it('maxBytesBelow(n) is the exact edge of minTokens(text) < n', () => {
    for (const n of [1, 2, 128, 2048]) {
      const bytes = tokenizer.maxBytesBelow(n)!;
      expect(tokenizer.minTokens('x'.repeat(bytes))).toBeLessThan(n);
      expect(tokenizer.minTokens('x'.repeat(bytes + 1))).toBeGreaterThanOrEqual(n);
    }
  });

  it('no length bound at all when a normalizer may rewrite the text first', () => {
    const normalized = new MotifTokenizer({ ...sources, tokenizerJson: { ...(sources.tokenizerJson as object), normalizer: { type: 'NFC' } } });
    expect(normalized.minTokens('x'.repeat(10_000))).toBe(0);
    expect(normalized.maxBytesBelow(128)).toBeUndefined();
  });

  it('renders and encodes the chat prompt exactly', () => {
    expect(chatTemplate).toBeDefined();
    const prompt = chatTemplate!.render(expected.chat.messages, { addGenerationPrompt: true });
    expect(prompt).toBe(expected.chat.prompt);
    expect(tokenizer.encode(prompt)).toEqual(expected.chat.ids);
  });

  it('per-token bytes concatenate to the UTF-8 of the text', () => {
    for (const c of expected.tokenizer) {
      const bytes = c.ids.flatMap((id) => [...tokenizer.tokenBytes(id)]);
      expect(Buffer.from(bytes).toString('utf8')).toBe(c.text);
    }
    // Byte-level: GPT-2 byte order, so id 0 is '!' and 220 is a space.
    expect([...tokenizer.tokenBytes(0)]).toEqual([0x21]);
    expect([...tokenizer.tokenBytes(220)]).toEqual([0x20]);
    expect(tokenizer.tokenText(383)).toBe('<|im_end|>');
    expect(tokenizer.tokenBytes(9999)).toHaveLength(0);
  });

  it('decodes the golden greedy continuations like the reference', () => {
    for (const c of expected.cases) expect(tokenizer.decode(c.greedy_new_ids)).toBe(c.greedy_new_text);
    expect(tokenizer.decode(expected.chat.greedy_new_ids)).toBe(expected.chat.greedy_new_text);
  });

  it('knows its special tokens', () => {
    expect(tokenizer.size).toBe(384);
    expect([381, 382, 383].every((id) => tokenizer.isSpecial(id))).toBe(true);
    expect(tokenizer.isSpecial(220)).toBe(false);
    expect(tokenizer.specialId('<|im_end|>')).toBe(383);
    expect(tokenizer.decode([382, 84, 82, 264, 383], { skipSpecialTokens: true })).toBe('user');
  });
});

describe('clean_up_tokenization_spaces', () => {
  it('follows the config value; a missing key means false (not tokenizers.js true)', () => {
    const ids = [220, 13]; // " ."
    const off = new MotifTokenizer(sources);
    expect(off.decode(ids)).toBe(' .');
    const missing = { ...sources.tokenizerConfig };
    delete missing.clean_up_tokenization_spaces;
    expect(new MotifTokenizer({ ...sources, tokenizerConfig: missing }).decode(ids)).toBe(' .');
    const on = new MotifTokenizer({ ...sources, tokenizerConfig: { ...sources.tokenizerConfig, clean_up_tokenization_spaces: true } });
    expect(on.cleanUpSpaces).toBe(true);
    expect(on.decode(ids)).toBe('.');
  });

  it('matches the transformers rules', () => {
    expect(cleanUpTokenizationSpaces("I do n't know , it 's fine ! ok ? ' x")).toBe("I don't know, it's fine! ok?'x");
  });
});

describe('malformed tokenizer files', () => {
  it('fail with a clear ApiError, not a crash', () => {
    expect(() => new MotifTokenizer({ tokenizerJson: { nope: 1 }, tokenizerConfig: {} })).toThrow(ApiError);
    expect(() => new MotifTokenizer({ tokenizerJson: sources.tokenizerJson, tokenizerConfig: { clean_up_tokenization_spaces: 'yes' } })).toThrow(
      /tokenizer_config\.json at clean_up_tokenization_spaces/,
    );
  });
});
