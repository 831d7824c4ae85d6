import { describe, expect, it } from 'vitest';
import { promptSize, utf8Length } from './prompt-size.ts';

describe('utf8Length', () => {
  it.each([
    { name: 'empty', text: '' },
    { name: 'ascii', text: 'hello, world' },
    { name: 'two-byte', text: 'héllo ß' },
    { name: 'three-byte', text: '안녕하세요 日本' },
    { name: 'four-byte (surrogate pairs)', text: '🙂🙂 a 𝄞' },
    { name: 'lone surrogates (encoded as U+FFFD)', text: '\ud800 x \udc00 \ud83d' },
  ])('$name: equals the encoded length', ({ text }) => {
    expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
  });
});

describe('promptSize', () => {
  it.each([
    {
      name: 'chat: contents summed, parts joined',
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
      want: { field: 'messages', bytes: 2 + 2 + 4 },
    },
    { name: 'completions: a string', req: { model: 'm', prompt: '안녕' }, want: { field: 'prompt', bytes: 6 } },
    { name: 'completions: a one-string list', req: { model: 'm', prompt: ['abc'] as [string] }, want: { field: 'prompt', bytes: 3 } },
    { name: 'completions: token ids have no text', req: { model: 'm', prompt: [1, 2, 3] }, want: undefined },
  ])('$name', ({ req, want }) => {
    expect(promptSize(req)).toEqual(want);
  });
});
