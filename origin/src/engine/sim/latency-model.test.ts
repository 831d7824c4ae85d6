import { describe, expect, it } from 'vitest';
import { BLOCK_TOKENS, blocksFor, KvBlockBudget, type LatencyParams, stepMs } from './latency-model.ts';

const GCD: LatencyParams = { speed: 1, slow: 1, prefillMsPerToken: 0.05, decodeStepMs: 12, decodeMsPerSequence: 0.4, decodeMsPer1kContext: 0.15 };

describe('stepMs', () => {
  it.each([
    { name: 'nothing running costs nothing', p: GCD, load: { running: 0, contextTokens: 0, prefillTokens: 0 }, ms: 0 },
    { name: 'one short sequence', p: GCD, load: { running: 1, contextTokens: 0, prefillTokens: 0 }, ms: 12.4 },
    { name: 'grows with the batch', p: GCD, load: { running: 10, contextTokens: 0, prefillTokens: 0 }, ms: 16 },
    { name: 'grows with the context', p: GCD, load: { running: 1, contextTokens: 20_000, prefillTokens: 0 }, ms: 15.4 },
    { name: 'prefill of 2,000 uncached tokens', p: GCD, load: { running: 1, contextTokens: 0, prefillTokens: 2_000 }, ms: 112.4 },
    { name: 'speed divides', p: { ...GCD, speed: 4 }, load: { running: 1, contextTokens: 0, prefillTokens: 0 }, ms: 3.1 },
    { name: 'slow multiplies', p: { ...GCD, slow: 3 }, load: { running: 1, contextTokens: 0, prefillTokens: 0 }, ms: 37.2 },
  ])('$name', ({ p, load, ms }) => {
    expect(stepMs(p, load)).toBeCloseTo(ms, 9);
  });
});

describe('KV blocks', () => {
  it.each([
    [0, 0],
    [1, 1],
    [BLOCK_TOKENS, 1],
    [BLOCK_TOKENS + 1, 2],
    [4096, 256],
  ])('%i tokens take %i blocks', (tokens, blocks) => {
    expect(blocksFor(tokens)).toBe(blocks);
  });

  it('reserves what fits, refuses what does not, and reports usage', () => {
    const kv = new KvBlockBudget(10);
    expect(kv.tryReserve(6)).toBe(true);
    expect(kv.tryReserve(5)).toBe(false);
    expect(kv.used).toBe(6);
    expect(kv.usage).toBeCloseTo(0.6);
    kv.release(6);
    expect(kv.tryReserve(10)).toBe(true);
    expect(kv.usage).toBe(1);
  });

  it('refuses a budget of no blocks', () => {
    expect(() => new KvBlockBudget(0)).toThrow(RangeError);
  });
});
