/**
 * The load-test simulator behind the real stack: embedded S3 → origin with MOTIF_ENGINE=sim (the
 * tiny model's weights are synced and ignored) → edge on Node, driven with the `openai` SDK. The
 * replica must look like a real one to the edge and to a scraper: OpenAI shapes, usage, and the
 * prefix-cache counters on the origin's /metrics.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { metricValue, originMetricsHeaders } from '../reliability/support/stack-probes.ts';

let stack: TestStack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startTestStack({ originEnv: { MOTIF_ENGINE: 'sim', MOTIF_SIM: '{"speed":20,"meanOutputTokens":16}' } });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.dispose();
});

// ~1,200 bytes ≈ 300 tokens: 18 full 16-token blocks shared by every conversation below.
const SYSTEM = 'You are the support assistant of a GPU cloud. Answer in two sentences. '.repeat(17);

async function originMetrics(): Promise<string> {
  const res = await fetch(`${stack.originUrl}/metrics`, { headers: originMetricsHeaders(stack) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('origin on the simulated engine', () => {
  it('says at start that the simulator, not the model, answers', () => {
    expect(stack.logs.join('\n')).toMatch(/MOTIF_ENGINE=sim: the load-test simulator, not the model, answers every request/);
  });

  it('chat, non-stream: an OpenAI completion with exact usage; greedy repeats', async () => {
    const ask = () =>
      client.chat.completions.create({ model: stack.model, messages: [{ role: 'user', content: 'Hello, simulator' }], max_tokens: 12, temperature: 0 });
    const res = await ask();
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]?.message.content).toMatch(/^[a-z]+( [a-z]+)*$/);
    expect(['stop', 'length']).toContain(res.choices[0]?.finish_reason);
    // `user: Hello, simulator\nassistant: ` is 35 bytes: 9 tokens at 4 bytes a token.
    expect(res.usage).toMatchObject({ prompt_tokens: 9 });
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    expect((await ask()).choices[0]?.message.content).toBe(res.choices[0]?.message.content);
  });

  it('chat, stream: deltas, a finish reason and one usage chunk; ignore_eos runs to max_tokens', async () => {
    const stream = await client.chat.completions.create({
      model: stack.model,
      messages: [{ role: 'user', content: 'Stream to me' }],
      max_tokens: 40,
      stream: true,
      stream_options: { include_usage: true },
      // vLLM's extension, passed through by the edge.
      ...({ ignore_eos: true } as object),
    });
    let text = '';
    let finish: string | null | undefined;
    let completionTokens = 0;
    for await (const chunk of stream) {
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    expect(finish).toBe('length');
    expect(completionTokens).toBe(40);
    expect(text.split(' ')).toHaveLength(40);
  });

  it('a shared system prompt is served from the prefix cache the second time, and /metrics shows it', async () => {
    const before = metricValue(await originMetrics(), 'vllm:prefix_cache_hits_total') ?? 0;
    // Sampled (temperature 1), so no response cache in front may answer in the origin's place.
    const ask = (question: string) =>
      client.chat.completions.create({
        model: stack.model,
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: question },
        ],
        max_tokens: 4,
        temperature: 1,
      });
    const first = await ask('How do I resize a volume?');
    const second = await ask('Why is my instance slow?');
    expect(first.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThanOrEqual(16 * 18);
    const text = await originMetrics();
    expect(metricValue(text, 'vllm:prefix_cache_hits_total')! - before).toBeGreaterThanOrEqual(16 * 18);
    expect(metricValue(text, 'vllm:prefix_cache_queries_total')).toBeGreaterThanOrEqual(metricValue(text, 'vllm:prefix_cache_hits_total')!);
  });
});
