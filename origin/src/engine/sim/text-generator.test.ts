import { describe, expect, it } from 'vitest';
import { findStop, TextGenerator } from './text-generator.ts';

const words = (g: TextGenerator, n: number) => Array.from({ length: n }, () => g.next().text).join('');
const make = (temperature: number, seed?: number, promptDigest = 42) =>
  new TextGenerator({ temperature, ...(seed !== undefined ? { seed } : {}), promptDigest, meanOutputTokens: 50 });

describe('TextGenerator', () => {
  it.each([
    { name: 'greedy: same prompt, same text', a: make(0), b: make(0), same: true },
    { name: 'greedy: other prompt, other text', a: make(0, undefined, 1), b: make(0, undefined, 2), same: false },
    { name: 'seeded sampling repeats', a: make(1, 7), b: make(1, 7), same: true },
    { name: 'other seeds differ', a: make(1, 7), b: make(1, 8), same: false },
    { name: 'unseeded sampling is random', a: make(1), b: make(1), same: false },
  ])('$name', ({ a, b, same }) => {
    const ta = `${a.naturalLength}|${words(a, 30)}`;
    const tb = `${b.naturalLength}|${words(b, 30)}`;
    expect(ta === tb).toBe(same);
  });

  it('draws natural lengths in [1, 2×mean]', () => {
    for (let seed = 0; seed < 200; seed++) {
      const n = make(1, seed).naturalLength;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(100);
    }
  });

  it('separates words with spaces, none before the first', () => {
    const text = words(make(0), 5);
    expect(text).toMatch(/^[a-z]+( [a-z]+){4}$/);
  });
});

describe('findStop', () => {
  it.each([
    { name: 'no stop strings', emitted: 'abc', next: ' def', stop: [], at: undefined },
    { name: 'inside the new text', emitted: 'abc', next: ' def', stop: ['de'], at: 1 },
    { name: 'at its start', emitted: 'abc', next: ' def', stop: [' d'], at: 0 },
    { name: 'straddling: cut where the new text begins', emitted: 'abc', next: ' def', stop: ['c d'], at: 0 },
    { name: 'earliest of several', emitted: '', next: 'one two', stop: ['two', 'ne'], at: 1 },
    { name: 'already in the old text is not new', emitted: 'stop here', next: ' more', stop: ['stop'], at: undefined },
    { name: 'empty stop string ignored', emitted: 'a', next: 'b', stop: [''], at: undefined },
  ])('$name', ({ emitted, next, stop, at }) => {
    expect(findStop(emitted, next, stop)).toBe(at);
  });
});
