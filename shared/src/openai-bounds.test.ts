import { describe, expect, it } from 'vitest';
import { fromZodError } from './errors.ts';
import { ChatCompletionRequest, CompletionRequest, jsonDepth, LIMITS } from './openai.ts';
import { parseJson } from './request-body.ts';

const chat = (extra: Record<string, unknown>) => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra });
/** A schema whose JSON nests `depth` levels (an array of arrays of …). */
const nested = (depth: number): unknown => {
  let v: unknown = { type: 'string' };
  for (let i = 1; i < depth; i++) v = { type: 'array', items: v };
  return v;
};
const jsonSchema = (schema: unknown, name = 'answer') => ({ response_format: { type: 'json_schema', json_schema: { name, schema } } });

/** The 400 a request gets, as the edge renders it (param and message). */
function refusal(body: unknown) {
  const r = ChatCompletionRequest.safeParse(body);
  expect(r.success).toBe(false);
  return fromZodError(r.error!);
}

describe('explicit bounds on chat requests', () => {
  it.each([
    { name: 'too many messages', extra: { messages: Array.from({ length: LIMITS.messages + 1 }, () => ({ role: 'user', content: 'x' })) }, param: 'messages' },
    {
      name: 'too many content parts',
      extra: { messages: [{ role: 'user', content: Array.from({ length: LIMITS.contentParts + 1 }, () => ({ type: 'text', text: 'x' })) }] },
      param: 'messages.0.content',
    },
    { name: 'five stop strings', extra: { stop: ['a', 'b', 'c', 'd', 'e'] }, param: 'stop' },
    { name: 'a long stop string', extra: { stop: 's'.repeat(LIMITS.stopLength + 1) }, param: 'stop' },
    { name: 'a long stop string in a list', extra: { stop: ['ok', 's'.repeat(100_000)] }, param: 'stop.1' },
    { name: 'a 65-character name', extra: { messages: [{ role: 'user', content: 'x', name: 'n'.repeat(65) }] }, param: 'messages.0.name' },
    { name: 'a name with a space', extra: { messages: [{ role: 'user', content: 'x', name: 'a b' }] }, param: 'messages.0.name' },
    { name: 'a name with a delimiter', extra: { messages: [{ role: 'user', content: 'x', name: '<|im_start|>' }] }, param: 'messages.0.name' },
    { name: 'an empty name', extra: { messages: [{ role: 'user', content: 'x', name: '' }] }, param: 'messages.0.name' },
    { name: 'a schema name with a space', extra: jsonSchema({ type: 'object' }, 'my schema'), param: 'response_format.json_schema.name' },
    { name: 'a schema 33 levels deep', extra: jsonSchema(nested(LIMITS.schemaDepth + 1)), param: 'response_format.json_schema.schema' },
  ])('$name → 400 naming $param', ({ extra, param }) => {
    const e = refusal(chat(extra));
    expect(e.status).toBe(400);
    expect(e.param).toBe(param);
    expect(e.message).toContain(param);
  });

  it.each([
    ['2048 messages', { messages: Array.from({ length: LIMITS.messages }, () => ({ role: 'user', content: 'x' })) }],
    ['four stop strings of 256', { stop: Array.from({ length: 4 }, () => 's'.repeat(LIMITS.stopLength)) }],
    ['a name like the SDK examples', { messages: [{ role: 'user', content: 'x', name: 'example_user-1' }] }],
    ['a schema 32 levels deep', jsonSchema(nested(LIMITS.schemaDepth))],
    ['a tool message answering a call', { messages: [{ role: 'tool', content: '42', tool_call_id: 'call_1' }] }],
  ])('%s is accepted', (_name, extra) => {
    expect(ChatCompletionRequest.safeParse(chat(extra)).success).toBe(true);
  });

  it('a 100k-deep schema in a body is a 400 naming response_format before any parse or schema walk', () => {
    const depth = 100_000;
    const body = `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}}`;
    let caught: unknown;
    try {
      parseJson(new TextEncoder().encode(body));
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ status: 400, param: 'response_format', message: expect.stringMatching(/response_format.*nested more than/) });
  });

  it('jsonDepth counts levels of objects and arrays without recursion', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [1, { b: [] }] })).toBe(4);
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonDepth(deep)).toBe(200_001);
  });
});

describe('every OpenAI parameter is implemented, refused or accepted on purpose, never dropped', () => {
  // The request parameters of OpenAI's Chat Completions and (legacy) Completions APIs.
  const CHAT = [
    'messages',
    'model',
    'audio',
    'frequency_penalty',
    'function_call',
    'functions',
    'logit_bias',
    'logprobs',
    'max_completion_tokens',
    'max_tokens',
    'metadata',
    'modalities',
    'n',
    'parallel_tool_calls',
    'prediction',
    'presence_penalty',
    'prompt_cache_key',
    'reasoning_effort',
    'response_format',
    'safety_identifier',
    'seed',
    'service_tier',
    'stop',
    'store',
    'stream',
    'stream_options',
    'temperature',
    'tool_choice',
    'tools',
    'top_logprobs',
    'top_p',
    'user',
    'verbosity',
    'web_search_options',
  ];
  const COMPLETIONS = [
    'model',
    'prompt',
    'best_of',
    'echo',
    'frequency_penalty',
    'logit_bias',
    'logprobs',
    'max_tokens',
    'n',
    'presence_penalty',
    'seed',
    'stop',
    'stream',
    'stream_options',
    'suffix',
    'temperature',
    'top_p',
    'user',
  ];
  const MESSAGE = ['role', 'content', 'name', 'tool_calls', 'function_call', 'audio', 'tool_call_id'];

  it.each(CHAT)('chat: %s is in the schema', (p) => expect(Object.keys(ChatCompletionRequest.shape)).toContain(p));
  it.each(COMPLETIONS)('completions: %s is in the schema', (p) => expect(Object.keys(CompletionRequest.shape)).toContain(p));
  it.each(MESSAGE)('message: %s is in the schema', (p) => expect(Object.keys(ChatCompletionRequest.shape.messages.element.shape)).toContain(p));

  it.each([
    ['n', { n: 2 }],
    ['reasoning_effort', { reasoning_effort: 'high' }],
    ['verbosity', { verbosity: 'low' }],
    ['web_search_options', { web_search_options: {} }],
    ['tools', { tools: Array.from({ length: LIMITS.tools + 1 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })) }],
    ['messages.0.function_call', { messages: [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }] }],
  ])('chat: %s changes the output and is refused with a 400 naming it', (param, extra) => {
    expect(refusal(chat(extra))).toMatchObject({ status: 400, param });
  });

  it('completions: n > 1 is refused', () => {
    const r = CompletionRequest.safeParse({ model: 'm', prompt: 'x', n: 3 });
    expect(fromZodError(r.error!)).toMatchObject({ param: 'n' });
  });

  it('metadata is bounded like OpenAI: 16 keys', () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(refusal(chat({ metadata }))).toMatchObject({ param: 'metadata' });
  });
});
