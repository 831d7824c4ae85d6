import { describe, expect, it } from 'vitest';
import { webDigests } from '#shared/digests.ts';
import { ChatCompletionRequest, CompletionRequest } from '#shared/openai.ts';
import { type CacheEndpoint, cacheKey, isDeterministic, OUTPUT_NEUTRAL_FIELDS, stableJson } from './key.ts';

const chat = (o: Record<string, unknown> = {}) =>
  ChatCompletionRequest.parse({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }], ...o });
const text = (o: Record<string, unknown> = {}) => CompletionRequest.parse({ model: 'm', temperature: 0, prompt: 'hi', ...o });

const key = (o: Record<string, unknown> = {}, extra: { tenantId?: string; revisions?: string[]; endpoint?: CacheEndpoint } = {}) => {
  const endpoint = extra.endpoint ?? 'chat.completions';
  return cacheKey(
    { tenantId: extra.tenantId ?? 't1', endpoint, revisions: extra.revisions ?? ['rev-1'], request: endpoint === 'chat.completions' ? chat(o) : text(o) },
    webDigests,
  );
};

const TOOL = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } };

describe('isDeterministic', () => {
  it.each([
    ['temperature 0', { temperature: 0 }, true],
    ['an explicit seed', { temperature: 0.8, seed: 7 }, true],
    ['seed 0 is a seed', { temperature: 1, seed: 0 }, true],
    ['no temperature (default 1) and no seed', { temperature: undefined }, false],
    ['temperature 0.7', { temperature: 0.7 }, false],
    ['null temperature means the default', { temperature: null }, false],
    ['null seed is no seed', { temperature: 1, seed: null }, false],
  ])('%s → %s', (_name, o, expected) => {
    expect(isDeterministic(chat(o))).toBe(expected);
  });
});

describe('cacheKey: requests asking for the same answer share a key', () => {
  it.each([
    ['top_p spelled at its default', { top_p: 1 }],
    ['every sampling default spelled out', { top_p: 1, top_k: 0, min_p: 0, presence_penalty: 0, frequency_penalty: 0, repetition_penalty: 1 }],
    ['nulls for defaults', { top_p: null, top_k: null, seed: null, stop: null, max_tokens: null }],
    ['stream on', { stream: true }],
    ['stream with usage', { stream: true, stream_options: { include_usage: true } }],
    ['a user', { user: 'alice' }],
    ['metadata, store, service tier', { metadata: { a: 'b' }, store: true, service_tier: 'auto' }],
    ['prompt cache key and safety identifier', { prompt_cache_key: 'x', safety_identifier: 'y' }],
    ['n = 1', { n: 1 }],
    [
      'content as text parts',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'h' },
              { type: 'text', text: 'i' },
            ],
          },
        ],
      },
    ],
    ['max_completion_tokens for max_tokens', { max_completion_tokens: 9 }, { max_tokens: 9 }],
    ['one stop string or a list of it', { stop: 'x' }, { stop: ['x'] }],
    ['response_format text is the default', { response_format: { type: 'text' } }],
    ['top_logprobs without logprobs is ignored by the schema rules', { logprobs: false }],
    ['tool_choice none is no tools', { tools: [TOOL], tool_choice: 'none', parallel_tool_calls: false }],
    ['tool_choice auto is the default', { tools: [TOOL], tool_choice: 'auto' }, { tools: [TOOL] }],
  ])('%s', async (_name, a, b: Record<string, unknown> = {}) => {
    expect(await key(a)).toBe(await key(b));
  });

  it('key order does not matter', async () => {
    const a = await cacheKey({ tenantId: 't1', endpoint: 'chat.completions', revisions: ['r'], request: chat({ top_k: 3, seed: 1 }) }, webDigests);
    const reordered = ChatCompletionRequest.parse(JSON.parse('{"seed":1,"top_k":3,"messages":[{"content":"hi","role":"user"}],"temperature":0,"model":"m"}'));
    expect(await cacheKey({ tenantId: 't1', endpoint: 'chat.completions', revisions: ['r'], request: reordered }, webDigests)).toBe(a);
  });

  it('a one-string prompt list is that string', async () => {
    expect(await key({ prompt: ['hi'] }, { endpoint: 'completions' })).toBe(await key({ prompt: 'hi' }, { endpoint: 'completions' }));
  });

  it('every field the key leaves out is named in OUTPUT_NEUTRAL_FIELDS, and only those', () => {
    const known = new Set([...Object.keys(ChatCompletionRequest.shape), ...Object.keys(CompletionRequest.shape)]);
    for (const f of OUTPUT_NEUTRAL_FIELDS) expect(known.has(f), f).toBe(true);
  });
});

describe('cacheKey: every output-changing field changes the key', () => {
  it.each([
    ['model', { model: 'other' }],
    ['messages', { messages: [{ role: 'user', content: 'ho' }] }],
    ['role', { messages: [{ role: 'system', content: 'hi' }] }],
    ['name', { messages: [{ role: 'user', content: 'hi', name: 'bob' }] }],
    ['max_tokens', { max_tokens: 5 }],
    ['temperature', { temperature: 0.5, seed: 1 }],
    ['top_p', { top_p: 0.9 }],
    ['top_k', { top_k: 40 }],
    ['min_p', { min_p: 0.1 }],
    ['seed', { seed: 3 }],
    ['stop', { stop: ['\n'] }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['frequency_penalty', { frequency_penalty: 0.5 }],
    ['repetition_penalty', { repetition_penalty: 1.2 }],
    ['response_format', { response_format: { type: 'json_object' } }],
    [
      'the json_schema',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'integer' } } } } } },
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
    ],
    ['ignore_eos', { ignore_eos: true }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { logprobs: true, top_logprobs: 3 }, { logprobs: true }],
    ['tools', { tools: [TOOL] }],
    ['a tool description', { tools: [{ ...TOOL, function: { ...TOOL.function, description: 'Now.' } }] }, { tools: [TOOL] }],
    ['tool_choice', { tools: [TOOL], tool_choice: 'required' }, { tools: [TOOL] }],
    ['parallel_tool_calls', { tools: [TOOL], tool_choice: 'required', parallel_tool_calls: false }, { tools: [TOOL], tool_choice: 'required' }],
    [
      "an assistant turn's tool_calls",
      { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }] },
      { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":2}' } }] }] },
    ],
  ])('%s', async (_name, changed, base: Record<string, unknown> = {}) => {
    expect(await key(changed)).not.toBe(await key(base));
  });

  it.each([
    ['prompt', { prompt: 'ho' }],
    ['token-id prompt', { prompt: [1, 2, 3] }],
    ['logprobs', { logprobs: 2 }],
    ['echo', { echo: true }],
    ['suffix', { suffix: 'x' }],
  ])('completions: %s', async (_name, changed) => {
    expect(await key(changed, { endpoint: 'completions' })).not.toBe(await key({}, { endpoint: 'completions' }));
  });

  it.each([
    ['tenant', { tenantId: 't2' }],
    ['revision', { revisions: ['rev-2'] }],
    ['a second revision during a rollout', { revisions: ['rev-1', 'rev-2'] }],
  ])('%s', async (_name, extra) => {
    expect(await key({}, extra)).not.toBe(await key({}));
  });

  it('the order or repetition of revisions does not matter', async () => {
    expect(await key({}, { revisions: ['b', 'a', 'a'] })).toBe(await key({}, { revisions: ['a', 'b'] }));
  });

  it('chat and completions never share a key', async () => {
    expect(await key({}, { endpoint: 'completions' })).not.toBe(await key({}));
  });
});

describe('stableJson', () => {
  it.each([
    ['sorted keys', { b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }, '{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}'],
    ['undefined dropped', { a: undefined, b: null }, '{"b":null}'],
    ['strings escaped', { 'k"': 'v\n' }, '{"k\\"":"v\\n"}'],
  ])('%s', (_name, value, expected) => {
    expect(stableJson(value)).toBe(expected);
  });
});
