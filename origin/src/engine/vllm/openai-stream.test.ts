import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import type { EngineEvent } from '../types.ts';
import { createStreamMapper, vllmError } from './openai-stream.ts';

const u = (prompt: number, completion: number, cached?: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  ...(cached !== undefined ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
});
const chatDelta = (content: string, extra: Record<string, unknown> = {}, usage?: unknown) => ({
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta: { content }, finish_reason: null, ...extra }],
  ...(usage ? { usage } : {}),
});

function run(chunks: unknown[]): EngineEvent[] {
  const m = createStreamMapper();
  const out = chunks.flatMap((c) => m.push(c));
  out.push(m.end());
  return out;
}

describe('vLLM stream → engine events', () => {
  it.each([
    {
      name: 'chat with running usage (continuous_usage_stats): counts from its growth, exact usage at the end',
      chunks: [
        { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: u(9, 0, 4) },
        chatDelta('Hel', {}, u(9, 1, 4)),
        chatDelta('lo there', {}, u(9, 3, 4)),
        chatDelta('', { finish_reason: 'stop' }, u(9, 3, 4)),
        { choices: [], usage: u(9, 3, 4) },
      ],
      want: [
        { type: 'start', promptTokens: 9, cachedTokens: 4 },
        { type: 'delta', text: 'Hel', tokenIds: [-1] },
        { type: 'delta', text: 'lo there', tokenIds: [-1, -1] },
        { type: 'finish', reason: 'stop', usage: { promptTokens: 9, completionTokens: 3, cachedTokens: 4 } },
      ],
    },
    {
      name: 'completions with token ids and a length finish',
      chunks: [
        { object: 'text_completion', choices: [{ index: 0, text: 'a', token_ids: [11], finish_reason: null }] },
        { object: 'text_completion', choices: [{ index: 0, text: 'b', token_ids: [12, 13], finish_reason: 'length' }] },
        { choices: [], usage: u(5, 3) },
      ],
      want: [
        { type: 'start', promptTokens: 0, cachedTokens: 0 },
        { type: 'delta', text: 'a', tokenIds: [11] },
        { type: 'delta', text: 'b', tokenIds: [12, 13] },
        { type: 'finish', reason: 'length', usage: { promptTokens: 5, completionTokens: 3, cachedTokens: 0 } },
      ],
    },
    {
      name: 'no usage at all (an older server): one token per chunk with text',
      chunks: [chatDelta('x'), chatDelta('y'), chatDelta('', { finish_reason: 'stop' })],
      want: [
        { type: 'start', promptTokens: 0, cachedTokens: 0 },
        { type: 'delta', text: 'x', tokenIds: [-1] },
        { type: 'delta', text: 'y', tokenIds: [-1] },
        { type: 'finish', reason: 'stop', usage: { promptTokens: 0, completionTokens: 2, cachedTokens: 0 } },
      ],
    },
    {
      name: 'chat logprobs',
      chunks: [
        chatDelta('Hi', {
          logprobs: { content: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105], top_logprobs: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105] }] }] },
        }),
        chatDelta('', { finish_reason: 'stop' }),
      ],
      want: [
        { type: 'start', promptTokens: 0, cachedTokens: 0 },
        {
          type: 'delta',
          text: 'Hi',
          tokenIds: [-1],
          logprobs: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105], top: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105] }] }],
        },
        { type: 'finish', reason: 'stop', usage: { promptTokens: 0, completionTokens: 1, cachedTokens: 0 } },
      ],
    },
    {
      name: 'completions logprobs (parallel arrays)',
      chunks: [
        { choices: [{ index: 0, text: 'é', logprobs: { tokens: ['é'], token_logprobs: [-1], top_logprobs: [{ é: -1, e: -2 }] }, finish_reason: 'stop' }] },
      ],
      want: [
        { type: 'start', promptTokens: 0, cachedTokens: 0 },
        {
          type: 'delta',
          text: 'é',
          tokenIds: [-1],
          logprobs: [
            {
              token: 'é',
              logprob: -1,
              bytes: [195, 169],
              top: [
                { token: 'é', logprob: -1, bytes: [195, 169] },
                { token: 'e', logprob: -2, bytes: [101] },
              ],
            },
          ],
        },
        { type: 'finish', reason: 'stop', usage: { promptTokens: 0, completionTokens: 1, cachedTokens: 0 } },
      ],
    },
  ])('$name', ({ chunks, want }) => {
    expect(run(chunks)).toEqual(want);
  });

  it('tool calls streamed in pieces come back as <tool_call> text when vLLM finishes', () => {
    const piece = (index: number, fn: Record<string, string>, ids: number[]) => ({
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index, ...(fn.name ? { id: `c${index}`, type: 'function' } : {}), function: fn }] },
          token_ids: ids,
          finish_reason: null,
        },
      ],
    });
    const events = run([
      piece(0, { name: 'get_time', arguments: '' }, [1, 2]),
      piece(0, { arguments: '{"tz":' }, [3]),
      piece(0, { arguments: '"UTC"}' }, [4]),
      piece(1, { name: 'noop', arguments: '' }, [5]),
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }], usage: u(3, 5) },
    ]);
    const text = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
    expect(text).toBe('<tool_call>\n{"name":"get_time","arguments":{"tz":"UTC"}}\n</tool_call>\n<tool_call>\n{"name":"noop","arguments":{}}\n</tool_call>');
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop', usage: { promptTokens: 3, completionTokens: 5, cachedTokens: 0 } });
  });

  it('a cut stream (no finish reason) is an error, not a silent stop', () => {
    const m = createStreamMapper();
    m.push(chatDelta('partial'));
    expect(() => m.end()).toThrow(/without a finish reason/);
  });

  it('an abort ends with the usage seen so far', () => {
    const m = createStreamMapper();
    m.push(chatDelta('a', {}, u(7, 1)));
    m.push(chatDelta('b', {}, u(7, 2)));
    expect(m.aborted()).toEqual({ type: 'finish', reason: 'abort', usage: { promptTokens: 7, completionTokens: 2, cachedTokens: 0 } });
  });

  it.each([
    { name: 'error object', chunk: { error: { message: 'CUDA error', type: 'InternalServerError' } } },
    { name: 'legacy error chunk', chunk: { object: 'error', message: 'CUDA error' } },
  ])('an in-stream $name becomes a retryable engine error', ({ chunk }) => {
    const m = createStreamMapper();
    expect(() => m.push(chunk)).toThrow(/CUDA error/);
    try {
      m.push(chunk);
    } catch (err) {
      expect(err).toMatchObject({ code: 'engine_unavailable', retryAfter: 1 });
    }
  });

  it.each([
    {
      name: 'too long a prompt',
      status: 400,
      body: JSON.stringify({
        object: 'error',
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens",
        type: 'BadRequestError',
      }),
      want: { code: 'context_length_exceeded', param: 'messages' },
    },
    {
      name: 'bad parameter',
      status: 400,
      body: JSON.stringify({ error: { message: 'top_p must be in (0, 1]' } }),
      want: { code: 'invalid_request_error', message: 'top_p must be in (0, 1]' },
    },
    { name: 'overloaded', status: 503, body: 'Service Unavailable', want: { code: 'overloaded', retryAfter: 1 } },
    { name: 'server fault', status: 500, body: '{"message":"boom"}', want: { code: 'engine_unavailable', message: 'vLLM answered 500: boom' } },
  ])('vLLM refusal: $name', ({ status, body, want }) => {
    const e = vllmError(status, body, 'messages');
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject(want);
  });
});
