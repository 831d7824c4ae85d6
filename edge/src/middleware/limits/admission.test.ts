import { describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '#shared/protocol.ts';
import { memoryLimiter } from '../../adapters/memory/limiter.ts';
import type { Limiter, PrincipalLimits } from '../../ports.ts';
import { testEdge, usageRecord } from '../../testing/harness.ts';

const chat = { model: 'motif-test', messages: [{ role: 'user', content: 'hi' }] };
const limits = (o: { rpm?: number; tpm?: number; maxConcurrent?: number; monthlyTokens?: number; keyRpm?: number }): PrincipalLimits => ({
  tenant: { rpm: o.rpm ?? null, tpm: o.tpm ?? null, maxConcurrent: o.maxConcurrent ?? null },
  key: { rpm: o.keyRpm ?? null, tpm: null },
  monthlyTokens: o.monthlyTokens ?? null,
});
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; type: string; message: string } }).error;

describe('limits, exact (in-process edge)', () => {
  it('30 parallel requests against a tenant limit of 10/min: exactly 10 succeed, every answer has the headers', async () => {
    const t = await testEdge({ principalLimits: limits({ rpm: 10 }) });
    await t.beat(t.origins[0]!);
    const res = await Promise.all(Array.from({ length: 30 }, () => t.post('/v1/chat/completions', chat)));
    expect(res.filter((r) => r.status === 200)).toHaveLength(10);
    expect(res.filter((r) => r.status === 429)).toHaveLength(20);
    for (const r of res) {
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
      expect(r.headers.get('x-ratelimit-remaining-tokens')).not.toBeNull();
    }
    const refused = res.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('6');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(t.origins[0]!.requests).toHaveLength(10);
  });

  it('a request refused before admission (bad body) carries the windows too, and takes nothing', async () => {
    const t = await testEdge({ principalLimits: limits({ rpm: 5 }) });
    await t.beat(t.origins[0]!);
    const bad = await t.post('/v1/chat/completions', { model: 'motif-test' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(bad.headers.get('x-ratelimit-remaining-requests')).toBe('5');
    expect((await t.post('/v1/chat/completions', '{"model":')).headers.get('x-ratelimit-remaining-requests')).toBe('5');
    expect((await t.post('/v1/chat/completions', chat)).headers.get('x-ratelimit-remaining-requests')).toBe('4');
  });

  it('a key limit tighter than its tenant is the one that refuses and is reported', async () => {
    const t = await testEdge({ principalLimits: limits({ rpm: 100, keyRpm: 1 }) });
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', chat)).headers.get('x-ratelimit-limit-requests')).toBe('1');
    const second = await t.post('/v1/chat/completions', chat);
    expect(second.status).toBe(429);
    expect((await errorOf(second)).message).toContain('requests per minute');
  });

  it('a concurrency cap of 2 admits exactly 2 of 10 long streams; a finished one frees its slot', async () => {
    const t = await testEdge({ principalLimits: limits({ maxConcurrent: 2 }), origins: [{ replicaId: 'r1', mode: 'hang' }] });
    await t.beat(t.origins[0]!);
    const res = await Promise.all(Array.from({ length: 10 }, () => t.post('/v1/chat/completions', { ...chat, stream: true })));
    const open = res.filter((r) => r.status === 200);
    expect(open).toHaveLength(2);
    const refused = res.filter((r) => r.status === 429);
    expect(refused).toHaveLength(8);
    const err = await errorOf(refused[0]!);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.message).toContain('concurrent requests');
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    await open[0]!.body!.cancel();
    await new Promise((r) => setTimeout(r, 10));
    expect((await t.post('/v1/chat/completions', { ...chat, stream: true })).status).toBe(200);
    for (const r of open.slice(1)) await r.body!.cancel();
  });

  it('a stream the client aborts is charged the tokens it generated, from the usage record', async () => {
    const t = await testEdge({ principalLimits: limits({ tpm: 1000 }), origins: [{ replicaId: 'r1', mode: 'hang' }] });
    await t.beat(t.origins[0]!);
    const body = { ...chat, stream: true, max_tokens: 100 }; // reserves 100 + the prompt estimate (5)
    const res = await t.post('/v1/chat/completions', body);
    expect(res.headers.get('x-ratelimit-remaining-tokens')).toBe('895');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 10));
    // Aborted: the edge saw no usage, so the reservation is held until the origin's record comes.
    const requestId = t.origins[0]!.requests[0]!.headers['x-request-id']!;
    const usage = usageRecord({ request_id: requestId, tenant_id: 'acme', prompt_tokens: 5, completion_tokens: 2, outcome: 'abort' });
    expect((await t.signedPost(INTERNAL_PATHS.usage, { records: [usage] })).status).toBe(200);
    t.origins[0]!.mode = 'ok';
    const next = await t.post('/v1/chat/completions', { ...chat, max_tokens: 10 });
    expect(next.status).toBe(200);
    // 7 charged for the aborted stream, 15 reserved now.
    expect(next.headers.get('x-ratelimit-remaining-tokens')).toBe('978');
    // That one used 8 (reconciled from its response); a redelivered record charges nothing again.
    await t.signedPost(INTERNAL_PATHS.usage, { records: [usage] });
    expect((await t.post('/v1/chat/completions', { ...chat, max_tokens: 10 })).headers.get('x-ratelimit-remaining-tokens')).toBe('970');
  });

  it('a tenant over its monthly quota gets 429 insufficient_quota without retry-after', async () => {
    const t = await testEdge({ principalLimits: limits({ monthlyTokens: 40 }) });
    await t.beat(t.origins[0]!);
    // The fake origin uses 5 + 3 tokens per request: after 5 the month's 40 are spent.
    for (let i = 0; i < 5; i++) expect((await t.post('/v1/chat/completions', { ...chat, max_tokens: 10 })).status).toBe(200);
    const over = await t.post('/v1/chat/completions', { ...chat, max_tokens: 10 });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBeNull();
    expect(await errorOf(over)).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(t.origins[0]!.requests).toHaveLength(5);
  });

  it('refunds the reservation of a request that never reached an origin', async () => {
    const t = await testEdge({ principalLimits: limits({ tpm: 1000 }) });
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', { ...chat, model: 'nope', max_tokens: 100 })).status).toBe(404);
    const ok = await t.post('/v1/chat/completions', { ...chat, max_tokens: 100 });
    expect(ok.headers.get('x-ratelimit-remaining-tokens')).toBe('895');
  });
});

describe('when the limiter store is unavailable', () => {
  const broken: Limiter = {
    admit: async () => {
      throw new Error('SQLITE_BUSY: database is locked');
    },
    finish: async () => {},
    reconcile: async () => {},
    windows: async () => {
      throw new Error('SQLITE_BUSY: database is locked');
    },
  };

  it('fails closed by default: a retryable 503 storage_unavailable, nothing forwarded', async () => {
    const t = await testEdge({ deps: { limiter: broken } });
    await t.beat(t.origins[0]!);
    const res = await t.post('/v1/chat/completions', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await errorOf(res)).code).toBe('storage_unavailable');
    expect(t.origins[0]!.requests).toHaveLength(0);
    // A bad body is still a 400: the headers are best effort.
    expect((await t.post('/v1/chat/completions', { model: 'motif-test' })).status).toBe(400);
  });

  it('fails open when configured: admitted without limits, logged loudly', async () => {
    const t = await testEdge({ deps: { limiter: broken, options: { limitsFailOpen: true } } });
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    expect(t.logs.some((l) => l.startsWith('LIMITER UNAVAILABLE'))).toBe(true);
  });

  it('a working limiter is unaffected by the fail-open setting', async () => {
    const t = await testEdge({ principalLimits: limits({ rpm: 1 }), deps: { limiter: memoryLimiter(), options: { limitsFailOpen: true } } });
    await t.beat(t.origins[0]!);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(200);
    expect((await t.post('/v1/chat/completions', chat)).status).toBe(429);
  });
});
