import { describe, expect, it } from 'vitest';
import { createUsageTracker } from './tracker.ts';

const meta = { requestId: 'r1', replicaId: 'rep', tenantId: 't', keyId: 'k', model: 'm', revision: 'rev', endpoint: 'completions' as const };

describe('usage tracker', () => {
  it('takes exact counts from start and finish, and finalizes once', () => {
    let now = 1_000;
    const t = createUsageTracker(meta, () => now);
    t.observe({ type: 'start', promptTokens: 9, cachedTokens: 4 });
    t.observe({ type: 'delta', text: 'a', tokenIds: [1, 2] });
    t.observe({ type: 'finish', reason: 'stop', usage: { promptTokens: 9, completionTokens: 3, cachedTokens: 4 } });
    // A stray event after finish must not change the billed count.
    t.observe({ type: 'delta', text: 'b', tokenIds: [3] });
    now = 2_500;
    expect(t.finalize('finish')).toMatchObject({
      prompt_tokens: 9,
      cached_tokens: 4,
      completion_tokens: 3,
      outcome: 'finish',
      started_at: 1_000,
      finished_at: 2_500,
    });
    expect(t.finalize('error')).toBeNull();
  });

  it('counts generated tokens from deltas when the engine fails before finish', () => {
    const t = createUsageTracker(meta, () => 0);
    t.observe({ type: 'start', promptTokens: 5, cachedTokens: 0 });
    t.observe({ type: 'delta', text: 'a', tokenIds: [1] });
    t.observe({ type: 'delta', text: '', tokenIds: [2, 3] });
    expect(t.finalize('error')).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, outcome: 'error' });
  });

  it('bills zero tokens for a request refused before the engine started', () => {
    expect(createUsageTracker(meta, () => 0).finalize('error')).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0 });
  });
});
