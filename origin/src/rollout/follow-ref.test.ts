import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { s3Keys } from '#shared/manifest.ts';
import { createMemoryObjectStore } from '../adapters/node/weights/memory-object-store.ts';
import { followRef } from './follow-ref.ts';
import { createRolloutMetrics } from './metrics.ts';
import type { Rollout, UpdateResult } from './rolling-update.ts';

const REV_A = 'aaaaaaaaaaaaaaaa';
const REV_B = 'bbbbbbbbbbbbbbbb';

/** A rollout double that answers updates from a script and records them. */
function scriptedRollout(answers: (UpdateResult | Error)[]): Rollout & { offered: string[] } {
  let revision = REV_A;
  const offered: string[] = [];
  return {
    offered,
    get revision() {
      return revision;
    },
    metrics: createRolloutMetrics(REV_A),
    async update(rev) {
      offered.push(rev);
      const a = answers.shift() ?? 'swapped';
      if (a instanceof Error) throw a;
      if (a === 'swapped') revision = rev;
      return a;
    },
    stop: async () => {},
    release: async () => {},
  };
}

describe('followRef', () => {
  it('offers a new revision until the rollout applies it, then stops offering it', async () => {
    const s3 = createMemoryObjectStore();
    await s3.putText('b', s3Keys.ref('m', 'stable'), REV_A);
    const rollout = scriptedRollout([new ApiError('unprocessable_entity', 'sha256 mismatch'), 'deferred', 'swapped']);
    const logs: string[] = [];
    const w = followRef({ rollout, s3, bucket: 'b', model: 'm', ref: 'stable', intervalMs: 60_000, log: (l) => logs.push(l) });
    try {
      await w.check();
      expect(rollout.offered).toEqual([]);
      await s3.putText('b', s3Keys.ref('m', 'stable'), REV_B);
      for (let i = 0; i < 5; i++) await w.check();
      expect(rollout.offered).toEqual([REV_B, REV_B, REV_B]);
      expect(rollout.revision).toBe(REV_B);
      // The rollout logs its own failures; the follower adds nothing for them.
      expect(logs.filter((l) => l.includes('failed'))).toEqual([]);
    } finally {
      w.stop();
    }
  });

  it('logs a poll error once per distinct message', async () => {
    const s3 = createMemoryObjectStore();
    const logs: string[] = [];
    const w = followRef({ rollout: scriptedRollout([]), s3, bucket: 'b', model: 'm', ref: 'stable', intervalMs: 60_000, log: (l) => logs.push(l) });
    try {
      for (let i = 0; i < 3; i++) expect(await w.check()).toBeNull();
      expect(logs.filter((l) => l.includes('polling m@stable failed'))).toHaveLength(1);
      await s3.putText('b', s3Keys.ref('m', 'stable'), 'not-a-revision');
      await w.check();
      expect(logs.filter((l) => l.includes('polling m@stable failed'))).toHaveLength(2);
    } finally {
      w.stop();
    }
  });
});
