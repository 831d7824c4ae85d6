import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING, type GenerateRequest } from '../types.ts';
import { toVllmRequest } from './openai-request.ts';

const chat: GenerateRequest = { requestId: 'r1', prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Hi' }] }, sampling: DEFAULT_SAMPLING, stop: [] };
const STREAMED = { stream: true, stream_options: { include_usage: true, continuous_usage_stats: true }, return_token_ids: true };

describe('toVllmRequest', () => {
  it.each([
    {
      name: 'chat with defaults: streamed with running usage, sampling at its neutral values',
      req: chat,
      path: '/v1/chat/completions',
      body: { model: 'm', ...STREAMED, messages: [{ role: 'user', content: 'Hi' }], temperature: 1, top_p: 1, presence_penalty: 0, frequency_penalty: 0 },
      absent: ['top_k', 'min_p', 'repetition_penalty', 'seed', 'max_tokens', 'stop', 'ignore_eos', 'logprobs', 'prompt'],
    },
    {
      name: 'every sampling parameter, stop strings, budget and ignore_eos',
      req: {
        ...chat,
        sampling: { temperature: 0.5, topP: 0.9, topK: 40, minP: 0.05, seed: 7, presencePenalty: 0.1, frequencyPenalty: 0.2, repetitionPenalty: 1.1 },
        stop: ['\n\n', 'END'],
        maxTokens: 64,
        ignoreEos: true,
      },
      path: '/v1/chat/completions',
      body: {
        temperature: 0.5,
        top_p: 0.9,
        top_k: 40,
        min_p: 0.05,
        seed: 7,
        presence_penalty: 0.1,
        frequency_penalty: 0.2,
        repetition_penalty: 1.1,
        stop: ['\n\n', 'END'],
        max_tokens: 64,
        ignore_eos: true,
      },
      absent: [],
    },
    {
      name: 'chat logprobs: a flag and a count',
      req: { ...chat, topLogprobs: 3 },
      path: '/v1/chat/completions',
      body: { logprobs: true, top_logprobs: 3 },
      absent: [],
    },
    {
      name: 'tools, a named choice and a history with a call and its result pass through',
      req: {
        ...chat,
        prompt: {
          kind: 'chat',
          messages: [
            { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
            { role: 'tool', content: '1', tool_call_id: 'c1' },
          ],
        },
        tools: { tools: [{ type: 'function', function: { name: 'f' } }], choice: { name: 'f' }, parallel: false },
      } as GenerateRequest,
      path: '/v1/chat/completions',
      body: {
        messages: [
          { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', content: '1', tool_call_id: 'c1' },
        ],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        parallel_tool_calls: false,
      },
      absent: [],
    },
    {
      name: 'text prompt → completions, logprobs as a count',
      req: { ...chat, prompt: { kind: 'text', text: 'Once' }, topLogprobs: 2 } as GenerateRequest,
      path: '/v1/completions',
      body: { prompt: 'Once', logprobs: 2, ...STREAMED },
      absent: ['messages', 'top_logprobs'],
    },
    {
      name: 'token ids → completions',
      req: { ...chat, prompt: { kind: 'ids', ids: [1, 2, 3] } } as GenerateRequest,
      path: '/v1/completions',
      body: { prompt: [1, 2, 3] },
      absent: ['messages'],
    },
  ])('$name', ({ req, path, body, absent }) => {
    const out = toVllmRequest(req, 'm');
    expect(out.path).toBe(path);
    expect(out.body).toMatchObject(body);
    for (const key of absent) expect(out.body).not.toHaveProperty(key);
  });
});
