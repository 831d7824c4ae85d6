import { expect, it, vi } from 'vitest';
import { memoryLedger } from '../adapters/memory/ledger.ts';
import { usageRecord } from '../testing/harness.ts';
import { lingeringLedger } from './lingering-ledger.ts';

it('writes inserts that arrive within the linger as one, and flush() writes what waits', async () => {
  vi.useFakeTimers();
  try {
    const inner = memoryLedger();
    const spy = vi.spyOn(inner, 'insert');
    const l = lingeringLedger(inner, { lingerMs: 50 });
    const a = l.insert([usageRecord({ request_id: 'a' })], 1);
    const b = l.insert([usageRecord({ request_id: 'b' })], 2);
    expect(spy).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(50);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0].map((r) => r.request_id)).toEqual(['a', 'b']);
    expect(await a).toEqual({ accepted: 2, duplicates: 0 });
    await b;
    const c = l.insert([usageRecord({ request_id: 'c' })], 3);
    await l.flush();
    await c;
    expect(spy).toHaveBeenCalledTimes(2);
  } finally {
    vi.useRealTimers();
  }
});

it('writes at once when maxRecords wait, and a failed write rejects every caller of its batch', async () => {
  const failing = { ...memoryLedger(), insert: async () => Promise.reject(new Error('disk full')) };
  const l = lingeringLedger(failing, { lingerMs: 60_000, maxRecords: 2 });
  const a = l.insert([usageRecord({ request_id: 'a' })], 1);
  const b = l.insert([usageRecord({ request_id: 'b' })], 1);
  await expect(a).rejects.toThrow('disk full');
  await expect(b).rejects.toThrow('disk full');
});
