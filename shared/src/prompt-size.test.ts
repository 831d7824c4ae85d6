import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { promptText, utf8Length, utf8LengthCapped } from './prompt-size.ts';

const encoded = (text: string) => new TextEncoder().encode(text).length;
// Any UTF-16: lone surrogates as well as pairs and every plane.
const anyText = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
});

describe('utf8Length', () => {
  it.each([
    { name: 'empty', text: '' },
    { name: 'ascii', text: 'hello, world' },
    { name: 'two-byte', text: 'héllo ß' },
    { name: 'three-byte', text: '안녕하세요 日本' },
    { name: 'four-byte (surrogate pairs)', text: '🙂🙂 a 𝄞' },
    { name: 'lone surrogates (encoded as U+FFFD)', text: '\ud800 x \udc00 \ud83d' },
  ])('$name: equals the encoded length', ({ text }) => {
    expect(utf8Length(text)).toBe(encoded(text));
  });

  it('equals the encoded length of any string', () => {
    fc.assert(fc.property(anyText, (s) => utf8Length(s) === encoded(s)));
  });
});

describe('utf8LengthCapped', () => {
  it('is exact up to the cap and above the cap past it, for any parts and cap', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 4 }), fc.nat(64), (parts, cap) => {
        const exact = encoded(parts.join(''));
        const got = utf8LengthCapped(parts, cap);
        return exact <= cap ? got === exact : got > cap && got <= exact;
      }),
    );
  });

  it('judges a megabyte against a small cap by its length alone', () => {
    const huge = '안'.repeat(1_000_000);
    expect(utf8LengthCapped([huge], 1000)).toBe(1_000_000);
    expect(utf8LengthCapped([huge], 3_000_000)).toBe(3_000_000);
  });
});

describe('promptText', () => {
  it.each([
    {
      name: 'chat: every message, parts joined',
      req: {
        model: 'm',
        messages: [
          { role: 'system' as const, content: 'é' },
          {
            role: 'user' as const,
            content: [
              { type: 'text' as const, text: 'ab' },
              { type: 'text' as const, text: '🙂' },
            ],
          },
          { role: 'assistant' as const, content: null },
        ],
      },
      want: { field: 'messages', parts: ['é', 'ab🙂', ''] },
    },
    { name: 'completions: a string', req: { model: 'm', prompt: '안녕' }, want: { field: 'prompt', parts: ['안녕'] } },
    { name: 'completions: a one-string list', req: { model: 'm', prompt: ['abc'] as [string] }, want: { field: 'prompt', parts: ['abc'] } },
    { name: 'completions: token ids have no text', req: { model: 'm', prompt: [1, 2, 3] }, want: undefined },
  ])('$name', ({ req, want }) => {
    expect(promptText(req)).toEqual(want);
  });
});
