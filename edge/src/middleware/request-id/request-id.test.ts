import { expect, it } from 'vitest';
import { generateRequestId } from './request-id.ts';

it('generates well-formed ids that do not repeat across refills of the random pool', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = generateRequestId();
    expect(id).toMatch(/^req_[0-9a-f]{28}$/);
    ids.add(id);
  }
  expect(ids.size).toBe(5000);
});

it('orders ids by time: a later millisecond sorts after, whatever the random part', () => {
  const t = Date.UTC(2026, 11, 7);
  const earlier = Array.from({ length: 100 }, () => generateRequestId(t));
  const later = Array.from({ length: 100 }, () => generateRequestId(t + 1));
  expect(earlier.every((a) => later.every((b) => a < b))).toBe(true);
  expect(generateRequestId(t).slice(4, 16)).toBe(t.toString(16).padStart(12, '0'));
});
