import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Admission, EffectiveLimits } from '../../ports.ts';
import { type HostLimiter, openHostLimiter } from './host-limiter.ts';

const dirs: string[] = [];
const limitsFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'motif-host-limiter-'));
  dirs.push(d);
  return join(d, 'limits.sqlite');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NOW = Date.UTC(2026, 11, 7);
const limits: EffectiveLimits = { tenantRpm: 0, tenantTpm: 0, keyRpm: 0, keyTpm: 0, maxConcurrent: 0, monthlyTokens: 100 };
const admission = (leaseId: string, now: number, reserveTokens = 60): Admission => ({
  leaseId,
  tenantId: 't',
  keyId: 'k',
  limits,
  reserveTokens,
  now,
  expiresAt: now + 60_000,
});

describe('the Node edge limiter', () => {
  /** Run `before` on a solo limiter, close it, and return a new one on the same file. */
  async function restarted(before: (l: HostLimiter['limiter'], now: number) => Promise<void>, saveEveryMs?: number): Promise<HostLimiter> {
    const file = limitsFile();
    const first = await openHostLimiter(file, { scope: 'solo', saveEveryMs });
    await before(first.limiter, NOW);
    first.close();
    return openHostLimiter(file, { scope: 'solo' });
  }

  it('solo: decides in memory and keeps the month across a restart', async () => {
    const second = await restarted(async (l, now) => {
      expect((await l.admit(admission('a', now))).allowed).toBe(true);
      await l.finish('t', 'a', 100, now);
    });
    try {
      // The month's 100 tokens were used before the restart.
      expect((await second.limiter.admit(admission('b', NOW + 1))).reason).toBe('quota');
    } finally {
      second.close();
    }
  });

  it('solo: a lease still open at close is still held after a restart', async () => {
    const second = await restarted(async (l, now) => {
      expect((await l.admit(admission('a', now, 100))).allowed).toBe(true);
    }, 60_000);
    try {
      // The open lease still reserves the whole month.
      expect((await second.limiter.admit(admission('b', NOW + 1))).reason).toBe('quota');
    } finally {
      second.close();
    }
  });

  it('one solo limiter per limits file; shared ones side by side, but not beside a solo one', async () => {
    const file = limitsFile();
    const open = (scope: 'solo' | 'shared') => openHostLimiter(file, { scope, lockWaitMs: 0 });
    const solo = await open('solo');
    await expect(open('solo')).rejects.toThrow(/MOTIF_EDGE_LIMITS_SCOPE=shared/);
    await expect(open('shared')).rejects.toThrow(/MOTIF_EDGE_LIMITS_SCOPE/);
    solo.close();
    const a = await open('shared');
    const b = await open('shared');
    await expect(open('solo')).rejects.toThrow(/MOTIF_EDGE_LIMITS_SCOPE=shared/);
    a.close();
    b.close();
    (await open('solo')).close();
  });

  it('waits for a lock that an edge shutting down still holds', async () => {
    const file = limitsFile();
    const before = await openHostLimiter(file, { scope: 'solo' });
    setTimeout(() => before.close(), 300);
    const after = await openHostLimiter(file, { scope: 'solo', lockWaitMs: 5000 });
    after.close();
  });
});
