import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateModel } from '../../../../../tools/model-gen/index.ts';
import type { PromptEncoder } from '../../../engine/native/text/prompt-encoder.ts';
import { loadTokenizerDir, type TokenizerBundle } from './tokenizer-files.ts';
import { startTokenizerWorker } from './tokenizer-worker.ts';

const FIXTURE = fileURLToPath(new URL('../../../../../test/fixtures/tiny-motif/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'tokenizer-worker-gen-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Text that exercises every stage: special tokens (split out before the pre-tokenizer), multibyte
// UTF-8 of every length, lone surrogates, digits, contractions, whitespace runs and newlines.
const VARIED = [
  '',
  'Hello, world!',
  "<|im_start|>user\nWhat's 2+2? I'll say 4.<|im_end|>\n<|im_start|>assistant\n",
  'héllo ß naïve café — ½ € 𝄞 🙂🙂 👩‍👩‍👧 안녕하세요 日本語のテキスト',
  'lone \ud800 high and \udc00 low surrogates',
  '   leading and trailing   \n\n\t\r\n spaces   ',
  '12345678901234567890 3.14159 1e-9 0x1F',
  'word<|im_end|>word<|im_start|><|im_end|>',
];

function longText(seed: number, chars: number): string {
  const parts = ['The quick brown fox ', 'jumps over ', '안녕 ', '🙂 ', '<|im_end|>', "it's ", '\n\n', '   ', '42 ', 'naïve ', '—'];
  let x = seed;
  let out = '';
  while (out.length < chars) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out += parts[x % parts.length];
  }
  return out;
}

describe.each([
  { name: 'the tiny-motif fixture', dir: async () => FIXTURE },
  { name: 'the generated stack model', dir: async () => (await generateModel({ outDir: join(scratch, 'gen'), preset: 'tiny' })).dir },
])('a tokenizer worker for $name', ({ dir }) => {
  let bundle: TokenizerBundle;
  let encoder: PromptEncoder;
  beforeAll(async () => {
    const d = await dir();
    bundle = await loadTokenizerDir(d);
    encoder = startTokenizerWorker(d, bundle.tokenizer);
  });
  afterAll(() => encoder.close());

  it('gives exactly the ids of an inline encode, with and without the post-processor', async () => {
    const texts = [...VARIED, longText(1, 20_000), longText(2, 50_000), VARIED.join('')];
    for (const text of texts) {
      for (const addSpecialTokens of [false, true]) {
        expect(await encoder.encode(text, { addSpecialTokens }), JSON.stringify(text.slice(0, 40))).toEqual(
          bundle.tokenizer.encode(text, { addSpecialTokens }),
        );
      }
    }
  });

  it('gives exactly the ids of an inline encode of a rendered chat', async () => {
    const messages = [
      { role: 'system', content: longText(3, 5_000) },
      { role: 'user', content: VARIED.join(' ') },
    ];
    const rendered = bundle.chatTemplate!.render(messages, { addGenerationPrompt: true });
    expect(await encoder.encode(rendered, { addSpecialTokens: false })).toEqual(bundle.tokenizer.encode(rendered, { addSpecialTokens: false }));
  });

  it('answers concurrent encodes each with its own ids', async () => {
    const texts = [longText(4, 30_000), 'short', longText(5, 10_000)];
    const got = await Promise.all(texts.map((t) => encoder.encode(t, {})));
    expect(got).toEqual(texts.map((t) => bundle.tokenizer.encode(t)));
  });
});

describe('the event loop while the worker encodes', () => {
  it('keeps running: no timer gap near the time an inline encode of the same text blocks it', async () => {
    const bundle = await loadTokenizerDir(FIXTURE);
    const encoder = startTokenizerWorker(FIXTURE, bundle.tokenizer);
    try {
      await encoder.encode('warm up', {});
      const text = longText(6, 800_000);
      const t0 = performance.now();
      const inlineIds = bundle.tokenizer.encode(text);
      const inlineMs = performance.now() - t0;

      let last = performance.now();
      let maxGap = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 2);
      const ids = await encoder.encode(text, {});
      clearInterval(timer);
      expect(ids).toEqual(inlineIds);
      // Inline, the whole encode (~0.6 s here) is one gap; in the worker only the message copies are.
      expect(inlineMs).toBeGreaterThan(300);
      // Relative to the inline time, so a loaded machine (slower everything) does not fail it.
      expect(maxGap).toBeLessThan(inlineMs / 3);
    } finally {
      await encoder.close();
    }
  }, 60_000);
});

describe('tokenizer worker failures', () => {
  it('a worker that cannot start fails its encodes with a server error, and is retried on the next', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tokenizer-worker-'));
    const bundle = await loadTokenizerDir(FIXTURE);
    const encoder = startTokenizerWorker(empty, bundle.tokenizer);
    try {
      await expect(encoder.encode('x'.repeat(5000), {})).rejects.toMatchObject({ code: 'internal_error', status: 500 });
      await expect(encoder.encode('y'.repeat(5000), {})).rejects.toMatchObject({ code: 'internal_error' });
    } finally {
      await encoder.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('close fails what is pending and refuses what comes after', async () => {
    const bundle = await loadTokenizerDir(FIXTURE);
    const encoder = startTokenizerWorker(FIXTURE, bundle.tokenizer);
    const pending = expect(encoder.encode(longText(7, 200_000), {})).rejects.toMatchObject({ code: 'engine_unavailable' });
    await encoder.close();
    await pending;
    await expect(encoder.encode('x', {})).rejects.toMatchObject({ code: 'engine_unavailable' });
  });
});
