import { expect, it } from 'vitest';
import { matchEndsAt } from './key-record.ts';

it('a match ends at the earliest of the times set, or never', () => {
  expect(matchEndsAt(null, null, null)).toBeNull();
  expect(matchEndsAt(500, null, 300)).toBe(300);
  expect(matchEndsAt(null, 700, null)).toBe(700);
  expect(matchEndsAt(0, 10, 5)).toBe(0);
});
