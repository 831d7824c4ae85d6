import { describe, expect, it } from 'vitest';
import { SimEngine } from '../../engine/sim/sim-engine.ts';
import { createSimServerApp } from './app.ts';
import { parseSimServerArgs } from './args.ts';

function app(tuning: Record<string, unknown> = {}) {
  const engine = new SimEngine({ modelId: 'motif-2.6b', speed: 1000, ...tuning });
  return createSimServerApp({ engine, clock: { now: () => Date.now() }, newId: () => 'id1' });
}

const post = (a: ReturnType<typeof app>, path: string, body: unknown) =>
  a.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const SYSTEM = 'You are a terse assistant for a GPU cloud. '.repeat(30);

describe('sim:vllm server', () => {
  it('answers a chat completion in OpenAI shape', async () => {
    const res = await post(app(), '/v1/chat/completions', { model: 'motif-2.6b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: 0 });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ id: 'chatcmpl-id1', object: 'chat.completion', model: 'motif-2.6b', usage: { completion_tokens: expect.any(Number) } });
    expect(body.choices[0].message.content).toMatch(/^[a-z]+( [a-z]+)*$/);
  });

  it('streams a completion as SSE ending in [DONE]', async () => {
    const res = await post(app(), '/v1/completions', { model: 'motif-2.6b', prompt: 'Once', max_tokens: 4, stream: true, ignore_eos: true });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    const chunks = text.split('\n\n').filter((l) => l.startsWith('data: {'));
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it.each([
    { name: 'unknown model', body: { model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }, status: 404, code: 'model_not_found' },
    { name: 'bad body', body: { model: 'motif-2.6b' }, status: 400, code: 'invalid_request_error' },
  ])('refuses $name with OpenAI error JSON', async ({ body, status, code }) => {
    const res = await post(app(), '/v1/chat/completions', body);
    expect(res.status).toBe(status);
    expect((await res.json()).error).toMatchObject({ code });
  });

  it('refuses with 503 and retry-after when told to refuse', async () => {
    const res = await post(app({ refuseRate: 1 }), '/v1/chat/completions', { model: 'motif-2.6b', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('errorRate: a 500 in OpenAI error JSON', async () => {
    const res = await post(app({ errorRate: 1 }), '/v1/chat/completions', { model: 'motif-2.6b', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(500);
    expect((await res.json()).error).toMatchObject({ type: 'server_error' });
  });

  it('dieAfterTokens: the stream carries 3 tokens, then an SSE error event and no [DONE]', async () => {
    const res = await post(app({ dieAfterTokens: 3 }), '/v1/chat/completions', {
      model: 'motif-2.6b',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 50,
      stream: true,
    });
    expect(res.status).toBe(200);
    const frames = (await res.text()).split('\n\n').filter(Boolean);
    const deltas = frames.filter((f) => /"content":"[^"]+"/.test(f));
    expect(deltas).toHaveLength(3);
    expect(frames.at(-1)).toMatch(/^event: error\ndata: \{"error":/);
    expect(frames.some((f) => f.includes('[DONE]'))).toBe(false);
  });

  it('lists the model and answers /health', async () => {
    const a = app();
    expect((await a.request('/health')).status).toBe(200);
    expect(await (await a.request('/v1/models')).json()).toMatchObject({ object: 'list', data: [{ id: 'motif-2.6b', object: 'model', max_model_len: 4096 }] });
  });

  it("exports vLLM's metric names, prefix-cache hits and the TTFT histogram", async () => {
    const a = app();
    for (const q of ['first question', 'second question']) {
      await post(a, '/v1/chat/completions', {
        model: 'motif-2.6b',
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: q },
        ],
        max_tokens: 2,
      });
    }
    const text = await (await a.request('/metrics')).text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:prefix_cache_queries_total',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
    ]) {
      expect(text).toMatch(new RegExp(`^${name}\\{model_name="motif-2.6b"\\} \\d`, 'm'));
    }
    const hits = Number(/^vllm:prefix_cache_hits_total\{[^}]*\} (\d+)/m.exec(text)?.[1]);
    expect(hits).toBeGreaterThanOrEqual(16 * 20);
    expect(text).toMatch(/^vllm:time_to_first_token_seconds_count\{model_name="motif-2.6b"\} 2$/m);
    expect(text).toMatch(/^vllm:time_to_first_token_seconds_bucket\{model_name="motif-2.6b",le="\+Inf"\} 2$/m);
  });
});

describe('sim:vllm arguments', () => {
  it.each([
    { argv: [], want: { host: '127.0.0.1', port: 8000, engine: { modelId: 'motif-2.6b', maxRunning: 256 } } },
    {
      argv: ['--port', '9001', '--model', 'm', '--max-num-seqs', '4', '--sim', '{"speed":10}'],
      want: { port: 9001, engine: { modelId: 'm', maxRunning: 4, speed: 10 } },
    },
    { argv: ['--max-model-len', '8192'], want: { engine: { maxContextTokens: 8192 } } },
    {
      argv: ['serve', '/snap/r1', '--host', '127.0.0.1', '--port', '8123', '--served-model-name', 'motif-2.6b', '--max-num-seqs', '4', '--dtype', 'bfloat16'],
      want: { port: 8123, engine: { modelId: 'motif-2.6b', maxRunning: 4 }, ignored: ['--dtype bfloat16'] },
    },
    {
      argv: ['serve', '/snap/r1', '--trust-remote-code', '--served-model-name=m1', '--gpu-memory-utilization', '0.9', '--no-enable-prefix-caching'],
      want: { engine: { modelId: 'm1' }, ignored: ['--trust-remote-code', '--gpu-memory-utilization 0.9', '--no-enable-prefix-caching'] },
    },
  ])('$argv', ({ argv, want }) => {
    expect(parseSimServerArgs(argv)).toMatchObject(want);
  });

  it.each([
    [['--port', 'x'], /--port/],
    [['--sim', '{bad'], /--sim: not JSON/],
    [['--sim', '{"errorRate":5}'], /--sim: errorRate/],
    [['--bogus'], /bogus/],
    [['serve'], /model dir is missing/],
    [['serve', '/snap', '--port', 'x'], /--port/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSimServerArgs(argv)).toThrow(message);
  });
});
