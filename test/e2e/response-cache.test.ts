/**
 * The response cache through real processes (embedded S3 → origin with the native engine on the
 * tiny model → edge on Node, cache on by default): a miss then a hit with the same text and the
 * x-cache headers, the hit faster; a stream hit replays the text and [DONE]; concurrent identical
 * requests coalesce into one generation; hits show in /v1/usage as cache_hits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '#shared/sse.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ edgeEnv: { MOTIF_CACHE: '1' } });
});
afterAll(async () => {
  await stack?.dispose();
});

const body = (o: Record<string, unknown> = {}) => ({
  model: stack.model,
  temperature: 0,
  max_tokens: 48,
  ignore_eos: true,
  messages: [{ role: 'user', content: 'Tell me about caches.' }],
  ...o,
});

async function post(b: unknown, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(`${stack.edgeUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(b),
  });
  let text = '';
  let done = false;
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    for await (const ev of readSse(res.body!)) {
      if (ev.data === '[DONE]') done = true;
      else for (const c of (JSON.parse(ev.data) as { choices: { delta: { content?: string } }[] }).choices) text += c.delta.content ?? '';
    }
  } else text = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  return { status: res.status, cache: res.headers.get('x-cache'), text, done, ms: performance.now() - started };
}

describe('response cache (real stack, tiny model)', () => {
  it('miss then hit: same text, x-cache MISS then HIT, the hit faster', async () => {
    const miss = await post(body());
    const hit = await post(body());
    expect([miss.status, miss.cache, hit.status, hit.cache]).toEqual([200, 'MISS', 200, 'HIT']);
    expect(hit.text).toBe(miss.text);
    expect(miss.text.length).toBeGreaterThan(0);
    expect(hit.ms).toBeLessThan(miss.ms);
  });

  it('a stream hit replays the same text and [DONE]; no-store bypasses', async () => {
    const b = body({ seed: 5, stream: true });
    const miss = await post(b);
    const hit = await post(b);
    expect([miss.cache, hit.cache]).toEqual(['MISS', 'HIT']);
    expect(hit).toMatchObject({ text: miss.text, done: true });
    expect((await post(b, { 'cache-control': 'no-store' })).cache).toBe('BYPASS');
  });

  it('10 concurrent identical requests: one generation, nine hits, all the same text', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(body({ seed: 99 }))));
    expect(answers.filter((a) => a.cache === 'MISS')).toHaveLength(1);
    expect(answers.filter((a) => a.cache === 'HIT')).toHaveLength(9);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    // Hit records are written behind the answer (the ledger's commit and fsync): poll for them.
    const cacheHits = async () => {
      const usage = await fetch(`${stack.edgeUrl}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
      return ((await usage.json()) as { data: { cache_hits: number }[] }).data[0]?.cache_hits;
    };
    await expect.poll(cacheHits, { timeout: 10_000 }).toBe(1 + 1 + 9);
  });
});
