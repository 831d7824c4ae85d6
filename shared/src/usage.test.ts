import { describe, expect, it } from 'vitest';
import { UsageRecord } from './usage.ts';

const record = {
  request_id: 'r1',
  replica_id: 'n1-0',
  tenant_id: 't1',
  key_id: 'k1',
  model: 'm',
  revision: 'rev',
  endpoint: 'completions',
  prompt_tokens: 10,
  completion_tokens: 5,
  outcome: 'finish',
  started_at: 1_767_000_000_000,
  finished_at: 1_767_000_001_000,
};

describe('UsageRecord', () => {
  it('accepts a record and defaults cached_tokens', () => {
    expect(UsageRecord.parse(record).cached_tokens).toBe(0);
  });

  it.each([
    ['prompt_tokens', 2 ** 53],
    ['completion_tokens', 1e12],
    ['cached_tokens', -1],
    ['finished_at', 8.64e15 + 1],
    ['started_at', -5],
  ])('refuses %s = %d (a ledger sum or a Date could not hold it)', (field, value) => {
    const parsed = UsageRecord.safeParse({ ...record, [field]: value });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
  });
});
