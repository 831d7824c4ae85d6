/** What a sync does when the caller says nothing: the defaults every origin runs with. */
import { describe, expect, it } from 'vitest';
import { SyncOptions } from './sync-options.ts';

const base = { bucket: 'b', model: 'motif-2.6b', ref: 'stable', storeDir: '/store' };

describe('SyncOptions defaults', () => {
  it('measures the write path per sync (auto) and fdatasyncs every blob', () => {
    const o = SyncOptions.parse(base);
    expect(o.writes).toBe('auto');
    expect(o.fsync).toBe(true);
  });

  it('takes a fixed write mode, and refuses one it does not know, naming the option', () => {
    expect(SyncOptions.parse({ ...base, writes: 'direct' }).writes).toBe('direct');
    expect(SyncOptions.parse({ ...base, writes: 'page-cache' }).writes).toBe('page-cache');
    const bad = SyncOptions.safeParse({ ...base, writes: 'o_direct' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['writes']);
  });
});
