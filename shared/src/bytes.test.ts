import { expect, it } from 'vitest';
import { concatBytes } from './bytes.ts';

it('concatenates byte arrays in order', () => {
  expect([...concatBytes([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)])]).toEqual([1, 2, 3]);
  expect(concatBytes([]).byteLength).toBe(0);
});
