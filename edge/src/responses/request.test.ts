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
      'function tools are nested under `function`; null parameters are left out; strict absent is strict when the schema is in the subset',
      {
        input: 'x',
        tools: [
          { type: 'function', name: 'f', description: 'does f', parameters: schema, strict: true },
          { type: 'function', name: 'g', parameters: null, strict: null },
          { type: 'function', name: 'h', parameters: { type: 'object', not: {} } },
          { type: 'function', name: 'i', parameters: schema, strict: false },
        ],
      },
      {
        tools: [
          { type: 'function', function: { name: 'f', description: 'does f', parameters: schema, strict: true } },
          { type: 'function', function: { name: 'g', strict: true } },
          { type: 'function', function: { name: 'h', parameters: { type: 'object', not: {} }, strict: false } },
          { type: 'function', function: { name: 'i', parameters: schema, strict: false } },
        ],
      },
    ],
    [
      'a named tool_choice and parallel_tool_calls',
      { input: 'x', tools: [{ type: 'function', name: 'f', parameters: schema }], tool_choice: { type: 'function', name: 'f' }, parallel_tool_calls: false },
      { tool_choice: { type: 'function', function: { name: 'f' } }, parallel_tool_calls: false },
    ],
    ['tool_choice required', { input: 'x', tools: [{ type: 'function', name: 'f' }], tool_choice: 'required' }, { tool_choice: 'required' }],
    [
      'the agent loop: calls join the assistant message before them, outputs become tool messages',
      {
        input: [
          { role: 'user', content: 'weather?' },
          { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'checking', annotations: [] }] },
          { type: 'function_call', id: 'fc_1', call_id: 'call_a', name: 'f', arguments: '{"a":1}', status: 'completed' },
          { type: 'function_call', call_id: 'call_b', name: 'f', arguments: '{"a":2}' },
          { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
          { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'rain' }] },
        ],
        tools: [{ type: 'function', name: 'f', parameters: schema }],
      },
      {
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: [{ type: 'text', text: 'checking' }],
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
              { id: 'call_b', type: 'function', function: { name: 'f', arguments: '{"a":2}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
          { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: 'rain' }] },
        ],
      },
    ],
    [
      'a call with no assistant text before it is an assistant message without content',
      {
        input: [
          { role: 'user', content: 'q' },
          { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: 'ok' },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'ok' },
        ],
      },
    ],
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
    ['a hosted tool', { tools: [{ type: 'web_search' }] }, 'tools.0.type'],
    [
      'a hosted tool after a function',
      {
        tools: [
          { type: 'function', name: 'f' },
          { type: 'file_search', vector_store_ids: [] },
        ],
      },
      'tools.1.type',
    ],
    ['a function name outside the pattern', { tools: [{ type: 'function', name: 'a b' }] }, 'tools.0.name'],
    [
      'two functions of one name',
      {
        tools: [
          { type: 'function', name: 'f' },
          { type: 'function', name: 'f' },
        ],
      },
      'tools.1.name',
    ],
    ['defer_loading', { tools: [{ type: 'function', name: 'f', defer_loading: true }] }, 'tools.0.defer_loading'],
    [
      'a strict schema outside the subset',
      { tools: [{ type: 'function', name: 'f', parameters: { type: 'object', not: {} }, strict: true }] },
      'tools.0.parameters',
    ],
    ['tool_choice without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['tool_choice naming no tool', { tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'function', name: 'g' } }, 'tool_choice'],
    ['a hosted tool_choice', { tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
    [
      'tools with a json_schema text.format',
      { tools: [{ type: 'function', name: 'f' }], text: { format: { type: 'json_schema', name: 'n', schema } } },
      'text.format',
    ],
    ['max_tool_calls', { max_tool_calls: 2 }, 'max_tool_calls'],
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
    ['an output answering no call in input', { input: [{ type: 'function_call_output', call_id: 'c', output: 'x' }] }, 'input.0.call_id'],
    ['a reasoning item', { input: [{ type: 'reasoning', summary: [] }] }, 'input.0.type'],
    ['a function call without arguments', { input: [{ type: 'function_call', call_id: 'c', name: 'f' }] }, 'input.0.arguments'],
    [
      'an image as a function output',
      {
        input: [
          { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c', output: [{ type: 'input_image', image_url: 'x' }] },
        ],
      },
      'input.1.output',
    ],
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
    expect(err.param?.startsWith(param), `${err.param}: ${err.message}`).toBe(true);
  });

  it.each([
    ['a hosted tool', { tools: [{ type: 'web_search' }] }, "'web_search' tools are not supported by this server: only 'function' tools are."],
    ['a hosted tool_choice', { tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'mcp', server_label: 's' } }, "'mcp' choices are not supported"],
    ['a reasoning item', { input: [{ type: 'reasoning', summary: [] }] }, "'reasoning' input items are not supported"],
    ['tools with a json text.format', { tools: [{ type: 'function', name: 'f' }], text: { format: { type: 'json_object' } } }, 'text.format and tools cannot'],
  ])('the message for %s names the type', (_name, body, message) => {
    const parsed = ResponsesRequest.safeParse({ ...base, input: 'x', ...body });
    expect(parsed.success ? '' : fromZodError(parsed.error).message).toContain(message);
  });

  it.each([
    ['store false', { store: false }],
    ['store null', { store: null }],
    ['tool_choice none', { tool_choice: 'none' }],
    [
      'tool_choice none with a strict schema outside the subset',
      { tools: [{ type: 'function', name: 'f', parameters: { not: {} }, strict: true }], tool_choice: 'none' },
    ],
    ['a schema outside the subset, not strict, auto', { tools: [{ type: 'function', name: 'f', parameters: { type: 'object', not: {} } }] }],
    [
      'tools and json_schema text.format with tool_choice none',
      { tools: [{ type: 'function', name: 'f' }], tool_choice: 'none', text: { format: { type: 'json_object' } } },
    ],
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
  ['tools.2.function.parameters', 'tools.2.parameters'],
  ['tool_choice', 'tool_choice'],
  ['max_tokens', 'max_output_tokens'],
  ['response_format.json_schema.schema', 'text.format.schema'],
  ['temperature', 'temperature'],
  ['messages_extra', 'messages_extra'],
  [null, null],
])('an error naming %s names %s on /v1/responses', (chat, responses) => {
  expect(responsesParam(chat)).toBe(responses);
});
