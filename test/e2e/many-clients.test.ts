/**
 * Many users at once through the real stack (embedded S3 → origin with the native engine → edge
 * on Node), with the official `openai` SDK:
 * - 16 concurrent streaming chats (more than the origin runs at once, so some wait in its queue)
 *   all end with `data: [DONE]`, carry one usage chunk with exact counts, and say what the same
 *   request says on its own;
 * - a client that disconnects mid-stream frees its origin slot: the origin's
 *   `vllm:num_requests_running` drops back to 0 while the request was far from done, and the
 *   aborted request is billed as `abort`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const MAX_RUNNING = 8;

beforeAll(async () => {
  stack = await startTestStack({ originEnv: { MOTIF_MAX_RUNNING: String(MAX_RUNNING), MOTIF_MAX_QUEUE: '32' } });
});
afterAll(async () => {
  await stack?.dispose();
});

/** A client whose SSE bodies are also captured raw (the SDK hides the `[DONE]` line). */
function recordingClient(): { client: OpenAI; raw: Promise<string>[] } {
  const raw: Promise<string>[] = [];
  const client = new OpenAI({
    baseURL: `${stack.edgeUrl}/v1`,
    apiKey: stack.apiKey,
    maxRetries: 0,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (!res.body || !res.headers.get('content-type')?.includes('text/event-stream')) return res;
      const [forSdk, forTest] = res.body.tee();
      raw.push(new Response(forTest).text());
      return new Response(forSdk, { status: res.status, statusText: res.statusText, headers: res.headers });
    },
  });
  return { client, raw };
}

/** One metric sample from the origin's /metrics (first series of the family). */
async function originMetric(name: string, labels = ''): Promise<number> {
  const headers: Record<string, string> = stack.originMetricsToken ? { authorization: `Bearer ${stack.originMetricsToken}` } : {};
  const text = await (await fetch(`${stack.originUrl}/metrics`, { headers })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + (labels ? `{${labels}}` : '')) && !l.startsWith('#'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}\n${stack.logs.slice(-20).join('\n')}`);
}

// `ignore_eos` (a vLLM extension the origin honours) makes the completion length exact.
const chat = (i: number, maxTokens: number) => ({
  model: stack.model,
  messages: [{ role: 'user' as const, content: `Client ${i} asks: what is ${i} times ${i + 3}?` }],
  max_tokens: maxTokens,
  temperature: 0,
  ignore_eos: true,
});

describe('many clients at once through the edge', () => {
  it('16 concurrent streams all complete with [DONE] and exact usage', async () => {
    const clients = Array.from({ length: 16 }, () => recordingClient());
    const maxTokens = (i: number) => 12 + (i % 5) * 4;
    const streamed = await Promise.all(
      clients.map(async ({ client }, i) => {
        const stream = await client.chat.completions.create({
          ...chat(i, maxTokens(i)),
          stream: true,
          stream_options: { include_usage: true },
        } as OpenAI.ChatCompletionCreateParamsStreaming);
        let text = '';
        let finish: string | null = null;
        const usage: OpenAI.CompletionUsage[] = [];
        for await (const chunk of stream) {
          if (chunk.usage) usage.push(chunk.usage);
          for (const c of chunk.choices) {
            text += c.delta.content ?? '';
            finish = c.finish_reason ?? finish;
          }
        }
        return { text, finish, usage };
      }),
    );

    for (let i = 0; i < 16; i++) {
      const r = streamed[i]!;
      const raw = await clients[i]!.raw[0]!;
      expect(raw.trimEnd().endsWith('data: [DONE]'), `client ${i} stream end`).toBe(true);
      expect(raw).not.toContain('event: error');
      expect(r.finish).toBe('length');
      expect(r.usage).toHaveLength(1);
      const u = r.usage[0]!;
      expect(u.completion_tokens).toBe(maxTokens(i));
      expect(u.prompt_tokens).toBeGreaterThan(0);
      expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
    }
    // The same requests one at a time, not streamed: the same text and the same prompt size, the
    // prompt now largely served from the origin's prefix cache (all but its last partial block).
    // `no-store` sends them to the origin: the edge's response cache would answer them itself.
    const hitsBefore = await originMetric('vllm:prefix_cache_hits_total');
    let cached = 0;
    for (let i = 0; i < 16; i += 5) {
      const alone = await clients[i]!.client.chat.completions.create(chat(i, maxTokens(i)) as OpenAI.ChatCompletionCreateParamsNonStreaming, {
        headers: { 'cache-control': 'no-store' },
      });
      expect(alone.choices[0]?.message.content, `client ${i}`).toBe(streamed[i]!.text);
      const u = alone.usage!;
      expect(u.prompt_tokens).toBe(streamed[i]!.usage[0]!.prompt_tokens);
      expect(u.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
      expect(u.prompt_tokens_details!.cached_tokens!).toBeLessThan(u.prompt_tokens);
      cached += u.prompt_tokens_details!.cached_tokens!;
    }
    expect(await originMetric('vllm:prefix_cache_hits_total')).toBe(hitsBefore + cached);
    await until('the origin to go idle', async () => (await originMetric('vllm:num_requests_running')) === 0);
  });

  it('a client that disconnects mid-stream frees its origin slot', async () => {
    const client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
    const abortsBefore = await originMetric('motif_origin_usage_records_total', 'outcome="abort"');
    // Long enough (the model's whole context) that it cannot finish during the test.
    const stream = await client.chat.completions.create({ ...chat(99, 1900), stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.finish_reason ?? null).toBeNull();
      if (chunks === 0) expect(await originMetric('vllm:num_requests_running')).toBe(1);
      if (++chunks === 5) break; // leaving the loop closes the connection
    }
    stream.controller.abort();
    await until('the origin to free the slot', async () => (await originMetric('vllm:num_requests_running')) === 0);
    expect(await originMetric('motif_origin_admission_running')).toBe(0);
    await until('the abort usage record', async () => (await originMetric('motif_origin_usage_records_total', 'outcome="abort"')) > abortsBefore);
    // The generation counter shows it stopped early, not at 1900 tokens.
    const generated = await originMetric('vllm:generation_tokens_total');
    await new Promise((r) => setTimeout(r, 100));
    expect(await originMetric('vllm:generation_tokens_total')).toBe(generated);
    // The freed slot serves the next client.
    const next = await client.chat.completions.create(chat(7, 4) as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(next.usage?.completion_tokens).toBe(4);
  });
});
