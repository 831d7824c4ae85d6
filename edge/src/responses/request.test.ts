import type { ResponseCreateParamsBase } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fromZodError } from '#shared/errors.ts';
import { ChatCompletionRequest } from '#shared/openai.ts';
import { ResponsesRequest, responsesParam, toChatRequest } from './request.ts';

const base = { model: 'motif-test' };
const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false };

describe('toChatRequest', () => {
  it.each([
    ['a string input is one user message', { input: 'hi' }, { messages: [{ role: 'user', content: 'hi' }] }],
    [
      'instructions come first, as a system message',
      { input: 'hi', instructions: 'be brief' },
      {
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
        ],
      },
    ],
    [
      'message items keep their roles; text parts become chat text parts',
      {
        input: [
          { role: 'developer', content: 'rules' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q' }] },
          { role: 'assistant', content: [{ type: 'output_text', text: 'a', annotations: [] }] },
        ],
      },
      {
        messages: [
          { role: 'developer', content: 'rules' },
          { role: 'user', content: [{ type: 'text', text: 'q' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'a' }] },
        ],
      },
    ],
    [
      'sampling, budget, seed and user map one to one',
      { input: 'x', max_output_tokens: 7, temperature: 0.5, top_p: 0.9, seed: 3, user: 'u' },
      { max_tokens: 7, temperature: 0.5, top_p: 0.9, seed: 3, user: 'u' },
    ],
    ['text.format text needs no response_format', { input: 'x', text: { format: { type: 'text' } } }, {}],
    ['text.format json_object', { input: 'x', text: { format: { type: 'json_object' } } }, { response_format: { type: 'json_object' } }],
    [
      'text.format json_schema moves name, schema and strict under json_schema',
      { input: 'x', text: { format: { type: 'json_schema', name: 'obj', schema, strict: true } } },
      { response_format: { type: 'json_schema', json_schema: { name: 'obj', schema, strict: true } } },
    ],
    ['a stream always asks for usage', { input: 'x', stream: true }, { stream: true, stream_options: { include_usage: true } }],
    [
      'echoed-only and no-op fields are not forwarded',
      { input: 'x', metadata: { k: 'v' }, store: false, tools: [], tool_choice: 'auto', truncation: 'disabled', include: [], service_tier: 'auto' },
      {},
    ],
  ])('%s', (_name, body, expected) => {
    const chat = toChatRequest(ResponsesRequest.parse({ ...base, ...body }));
    expect(chat).toMatchObject({ model: 'motif-test', ...expected });
    // What it builds is a chat request the chat schema accepts unchanged.
    expect(ChatCompletionRequest.parse(chat)).toEqual(chat);
    if (!('response_format' in expected)) expect(chat).not.toHaveProperty('response_format');
    expect(chat).not.toHaveProperty('metadata');
  });
});

describe('ResponsesRequest refuses what it cannot honour, naming the parameter', () => {
  it.each([
    ['tools', { tools: [{ type: 'function', name: 'f', parameters: {} }] }, 'tools'],
    ['tool_choice without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['previous_response_id', { previous_response_id: 'resp_1' }, 'previous_response_id'],
    ['store: true (nothing is stored)', { store: true }, 'store'],
    ['reasoning', { reasoning: { effort: 'high' } }, 'reasoning'],
    ['include', { include: ['message.output_text.logprobs'] }, 'include'],
    ['truncation auto', { truncation: 'auto' }, 'truncation'],
    ['background', { background: true }, 'background'],
    ['conversation', { conversation: 'conv_1' }, 'conversation'],
    ['prompt templates', { prompt: { id: 'pmpt_1' } }, 'prompt'],
    ['top_logprobs', { top_logprobs: 2 }, 'top_logprobs'],
    ['moderation', { moderation: { model: 'x' } }, 'moderation'],
    ['text.verbosity', { text: { verbosity: 'low' } }, 'text.verbosity'],
    ['an image part', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, 'input'],
    ['a function call output item', { input: [{ type: 'function_call_output', call_id: 'c', output: 'x' }] }, 'input'],
    ['an empty input list', { input: [] }, 'input'],
    ['no input', { input: undefined }, 'input'],
    [
      'a schema keyword outside the subset',
      { text: { format: { type: 'json_schema', name: 'n', schema: { type: 'string', format: 'email' } } } },
      'text.format.schema',
    ],
    ['max_output_tokens 0', { max_output_tokens: 0 }, 'max_output_tokens'],
    ['temperature above 2', { temperature: 3 }, 'temperature'],
  ])('%s', (_name, body, param) => {
    const parsed = ResponsesRequest.safeParse({ ...base, input: 'x', ...body });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    const err = fromZodError(parsed.error);
    expect(err.status).toBe(400);
    expect(err.param?.startsWith(param)).toBe(true);
  });

  it.each([
    ['store false', { store: false }],
    ['store null', { store: null }],
    ['tool_choice none', { tool_choice: 'none' }],
    ['truncation disabled', { truncation: 'disabled' }],
    ['background false', { background: false }],
    ['parallel_tool_calls', { parallel_tool_calls: false }],
    ['stream_options', { stream: true, stream_options: { include_obfuscation: false } }],
  ])('accepts %s', (_name, body) => {
    expect(ResponsesRequest.safeParse({ ...base, input: 'x', ...body }).success).toBe(true);
  });
});

// Every parameter of the SDK's Responses API is named in the schema (translated, refused or
// accepted): a new one in an SDK upgrade fails the typecheck here instead of being dropped.
type Unnamed = Exclude<keyof ResponseCreateParamsBase, keyof z.input<typeof ResponsesRequest>>;
const everyParameterNamed: [Unnamed] extends [never] ? true : Unnamed = true;

it('names every parameter of the SDK', () => {
  expect(everyParameterNamed).toBe(true);
});

it.each([
  ['messages', 'input'],
  ['messages.0.content', 'input.0.content'],
  ['max_tokens', 'max_output_tokens'],
  ['response_format.json_schema.schema', 'text.format.schema'],
  ['temperature', 'temperature'],
  ['messages_extra', 'messages_extra'],
  [null, null],
])('an error naming %s names %s on /v1/responses', (chat, responses) => {
  expect(responsesParam(chat)).toBe(responses);
});
