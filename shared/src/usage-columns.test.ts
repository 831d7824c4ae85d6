import { describe, expect, it } from 'vitest';
import { UsageRecord } from './usage.ts';
import { readUsageColumns, USAGE_COLUMN_NAMES, USAGE_COLUMNS, usageColumnDefinitions, writeUsageColumns } from './usage-columns.ts';

const record: UsageRecord = {
  request_id: 'req-1',
  replica_id: 'r1',
  tenant_id: 'acme',
  key_id: 'key_1',
  model: 'motif-test',
  revision: 'rev-1',
  endpoint: 'completions',
  prompt_tokens: 10,
  cached_tokens: 3,
  completion_tokens: 5,
  outcome: 'abort',
  started_at: 1_000,
  finished_at: 2_000,
};

describe('usage record columns', () => {
  it('cover every field of the record, the key first', () => {
    expect([...USAGE_COLUMN_NAMES].sort()).toEqual(Object.keys(UsageRecord.shape).sort());
    expect(USAGE_COLUMN_NAMES.slice(0, 2)).toEqual(['replica_id', 'request_id']);
  });

  it('keep the names and types the existing tables were created with', () => {
    expect(usageColumnDefinitions(USAGE_COLUMN_NAMES)).toBe(
      [
        '  replica_id TEXT NOT NULL',
        '  request_id TEXT NOT NULL',
        '  tenant_id TEXT NOT NULL',
        '  key_id TEXT NOT NULL',
        '  model TEXT NOT NULL',
        '  revision TEXT NOT NULL',
        '  endpoint TEXT NOT NULL',
        '  prompt_tokens INTEGER NOT NULL',
        '  cached_tokens INTEGER NOT NULL',
        '  completion_tokens INTEGER NOT NULL',
        '  outcome TEXT NOT NULL',
        '  started_at INTEGER NOT NULL',
        '  finished_at INTEGER NOT NULL',
      ].join(',\n'),
    );
  });

  it('write the values in the order asked for, and read them back', () => {
    expect(writeUsageColumns(record, ['request_id', 'prompt_tokens', 'outcome'])).toEqual(['req-1', 10, 'abort']);
    const row = Object.fromEntries(USAGE_COLUMN_NAMES.map((n, i) => [n, writeUsageColumns(record, USAGE_COLUMN_NAMES)[i]]));
    expect(readUsageColumns(row, USAGE_COLUMN_NAMES)).toEqual(record);
  });

  it('pass a missing value through to the NOT NULL constraint instead of storing a placeholder', () => {
    const broken = { ...record, model: null as unknown as string };
    expect(writeUsageColumns(broken, ['model'])).toEqual([null]);
  });

  it.each<[string, unknown, unknown]>([
    ['prompt_tokens', 7, 7],
    ['prompt_tokens', 7n, 7],
    ['prompt_tokens', '7', Error],
    ['prompt_tokens', null, Error],
    ['model', 'm', 'm'],
    ['model', 1, Error],
    ['model', undefined, Error],
  ])('read %s from %o', (name, cell, expected) => {
    const read = () => USAGE_COLUMNS[name as 'model'].read(cell);
    if (expected === Error) expect(read).toThrow(name);
    else expect(read()).toBe(expected);
  });
});
