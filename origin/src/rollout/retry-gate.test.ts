import { describe, expect, it } from 'vitest';
import { createRetryGate } from './retry-gate.ts';

/** Offer `rev` on `polls` polls, failing every attempt; returns which polls attempted. */
function attempts(gate: ReturnType<typeof createRetryGate>, rev: string, polls: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < polls; p++) {
    if (!gate.admit(rev)) continue;
    out.push(p);
    gate.failed(rev);
  }
  return out;
}

describe('retry gate', () => {
  it('retries on the next poll, then skips 1, 3, 7 … polls', () => {
    expect(attempts(createRetryGate(), 'r1', 32)).toEqual([0, 1, 3, 7, 15, 31]);
  });

  it('caps the skipped polls', () => {
    expect(attempts(createRetryGate({ maxSkip: 2 }), 'r1', 14)).toEqual([0, 1, 3, 6, 9, 12]);
  });

  it('starts afresh for another revision and after a success', () => {
    const gate = createRetryGate();
    attempts(gate, 'r1', 4);
    expect(gate.failures('r1')).toBe(3);
    expect(gate.admit('r2')).toBe(true);
    gate.failed('r2');
    expect(gate.failures('r1')).toBe(0);
    gate.succeeded('r2');
    expect(gate.failures('r2')).toBe(0);
    expect(gate.admit('r2')).toBe(true);
  });

  it('rejects a bad maxSkip at construction', () => {
    expect(() => createRetryGate({ maxSkip: -1 })).toThrow('maxSkip');
  });
});
