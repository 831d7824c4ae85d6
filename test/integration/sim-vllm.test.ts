/**
 * `npm run sim:vllm` as a process, the stand-in `vllm serve` of the vLLM tier's tests: the
 * official `openai` SDK against it (chat and completions, JSON and SSE) and a Prometheus scrape of
 * its vLLM-named /metrics.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ManagedProcess, spawnTsx, waitForHttp } from '../../scripts/stack/processes.ts';
import { metricValue } from '../reliability/support/stack-probes.ts';

let proc: ManagedProcess;
let base: string;
let client: OpenAI;
const logs: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawnTsx({
    name: 'sim-vllm',
    file: 'origin/src/cli/sim-vllm/main.ts',
    args: ['--port', String(port), '--model', 'motif-2.6b', '--max-num-seqs', '4', '--sim', '{"speed":20}'],
    env: process.env,
    log: (line) => logs.push(line),
  });
  await waitForHttp(`${base}/health`, proc, 60_000);
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await proc?.stop(5_000);
});

const SYSTEM = 'You route GPU cloud support tickets; reply with one queue name. '.repeat(20);

describe('sim:vllm', () => {
  it('says it is the simulator, not the model', () => {
    expect(logs.join('\n')).toMatch(/the load-test simulator, not the model/);
  });

  it('lists its model', async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['motif-2.6b']);
  });

  it('chat: JSON with usage, and a stream with deltas, a finish reason and usage', async () => {
    const res = await client.chat.completions.create({ model: 'motif-2.6b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, temperature: 0 });
    expect(res.object).toBe('chat.completion');
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    const stream = await client.chat.completions.create({
      model: 'motif-2.6b',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage = 0;
    for await (const chunk of stream) {
      if (chunk.usage) usage++;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    expect(text).toBe(res.choices[0]?.message.content);
    expect(finish).toBe(res.choices[0]?.finish_reason);
    expect(usage).toBe(1);
  });

  it('completions, JSON and stream', async () => {
    const res = await client.completions.create({ model: 'motif-2.6b', prompt: 'The quick brown fox', max_tokens: 5, temperature: 0 });
    expect(res.object).toBe('text_completion');
    let streamed = '';
    for await (const chunk of await client.completions.create({
      model: 'motif-2.6b',
      prompt: 'The quick brown fox',
      max_tokens: 5,
      temperature: 0,
      stream: true,
    })) {
      streamed += chunk.choices[0]?.text ?? '';
    }
    expect(streamed).toBe(res.choices[0]?.text);
  });

  it('an unknown model is a 404 the SDK raises', async () => {
    await expect(client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404 });
  });

  it('/metrics: vLLM names, prefix-cache hits after a shared system prompt, TTFT observations', async () => {
    for (const q of ['GPU quota', 'billing']) {
      await client.chat.completions.create({
        model: 'motif-2.6b',
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: q },
        ],
        max_tokens: 3,
      });
    }
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(metricValue(text, 'vllm:num_requests_running')).toBe(0);
    expect(metricValue(text, 'vllm:num_requests_waiting')).toBe(0);
    expect(metricValue(text, 'vllm:kv_cache_usage_perc')).toBe(0);
    expect(metricValue(text, 'vllm:prefix_cache_hits_total')).toBeGreaterThanOrEqual(16 * 18);
    expect(metricValue(text, 'vllm:prefix_cache_queries_total')).toBeGreaterThan(metricValue(text, 'vllm:prefix_cache_hits_total')!);
    expect(metricValue(text, 'vllm:prompt_tokens_total')).toBe(metricValue(text, 'vllm:prefix_cache_queries_total'));
    expect(metricValue(text, 'vllm:generation_tokens_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'vllm:time_to_first_token_seconds_count')).toBeGreaterThanOrEqual(6);
  });
});
