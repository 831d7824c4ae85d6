import { expect, it } from 'vitest';
import { generateRequestId } from './request-id.ts';

it('generates well-formed ids that do not repeat across refills of the random pool', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = generateRequestId();
    expect(id).toMatch(/^req_[0-9a-f]{24}$/);
    ids.add(id);
  }
  expect(ids.size).toBe(5000);
});
