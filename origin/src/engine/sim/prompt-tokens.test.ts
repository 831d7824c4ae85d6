import { describe, expect, it } from 'vitest';
import type { EnginePrompt } from '../types.ts';
import { maxPromptBytesBelow, renderPrompt, simPrompt } from './prompt-tokens.ts';

const chat = (...contents: string[]): EnginePrompt => ({
  kind: 'chat',
  messages: contents.map((content, i) => ({ role: i === 0 ? 'system' : 'user', content })),
});
const SYSTEM = 'You are a careful assistant. '.repeat(20); // 580 bytes: 9 full blocks of 64 bytes

describe('simPrompt', () => {
  it.each([
    { name: 'one byte is one token', prompt: { kind: 'text', text: 'a' } as EnginePrompt, tokens: 1, blocks: 0 },
    { name: 'four bytes are one token', prompt: { kind: 'text', text: 'abcd' } as EnginePrompt, tokens: 1, blocks: 0 },
    { name: 'five bytes are two', prompt: { kind: 'text', text: 'abcde' } as EnginePrompt, tokens: 2, blocks: 0 },
    { name: 'UTF-8 bytes, not characters', prompt: { kind: 'text', text: 'ééé' } as EnginePrompt, tokens: 2, blocks: 0 },
    { name: '64 bytes are one full block', prompt: { kind: 'text', text: 'x'.repeat(64) } as EnginePrompt, tokens: 16, blocks: 1 },
    { name: 'token ids count as given', prompt: { kind: 'ids', ids: Array.from({ length: 40 }, (_, i) => i) } as EnginePrompt, tokens: 40, blocks: 2 },
    { name: 'empty text', prompt: { kind: 'text', text: '' } as EnginePrompt, tokens: 0, blocks: 0 },
  ])('$name', ({ prompt, tokens, blocks }) => {
    const p = simPrompt(prompt);
    expect(p.tokens).toBe(tokens);
    expect(p.blockHashes).toHaveLength(blocks);
  });

  it('renders a chat as role lines with an assistant cue', () => {
    expect(renderPrompt(chat('sys', 'hi'))).toBe('system: sys\nuser: hi\nassistant: ');
  });

  it('gives a shared system prompt the same leading blocks and a different one none', () => {
    const a = simPrompt(chat(SYSTEM, 'What is a KV cache?'));
    const b = simPrompt(chat(SYSTEM, 'Tell me about prefix caching in detail, please.'));
    const c = simPrompt(chat(`X${SYSTEM}`, 'What is a KV cache?'));
    expect(a.blockHashes.slice(0, 9)).toEqual(b.blockHashes.slice(0, 9));
    expect(a.digest).not.toBe(b.digest);
    // Chained: a change in block 0 changes every later block's hash too.
    expect(c.blockHashes.filter((h) => a.blockHashes.includes(h))).toEqual([]);
  });

  it('bounds prompt bytes so a longer prompt surely exceeds the context', () => {
    const max = maxPromptBytesBelow(100);
    expect(simPrompt({ kind: 'text', text: 'x'.repeat(max) }).tokens).toBe(99);
    expect(simPrompt({ kind: 'text', text: 'x'.repeat(max + 1) }).tokens).toBe(100);
  });
});
