/** What a sync does when the caller says nothing: the defaults every origin runs with. */
import { describe, expect, it } from 'vitest';
import { SyncOptions } from './sync-options.ts';

describe('SyncOptions defaults', () => {
  it('writes through the page cache and fdatasyncs every blob (O_DIRECT only when asked for)', () => {
    const o = SyncOptions.parse({ bucket: 'b', model: 'motif-2.6b', ref: 'stable', storeDir: '/store' });
    expect(o.directIo).toBe(false);
    expect(o.fsync).toBe(true);
    expect(SyncOptions.parse({ bucket: 'b', model: 'motif-2.6b', ref: 'stable', storeDir: '/store', directIo: true }).directIo).toBe(true);
  });
});
