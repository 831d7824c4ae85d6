import { describe, expect, it } from 'vitest';
import { fromZodError } from './errors.ts';
import { ChatCompletionRequest, CompletionRequest } from './openai.ts';

const chat = (extra: Record<string, unknown>) => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra });
const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

describe('parameters that would change the output but are not implemented', () => {
  it.each([
    ['functions', { functions: [tool.function] }],
    ['function_call', { function_call: 'auto' }],
    ['logit_bias', { logit_bias: { '42': 10 } }],
    ['prediction', { prediction: { type: 'content', content: 'x' } }],
    ['audio', { audio: { voice: 'alloy', format: 'mp3' } }],
    ['modalities', { modalities: ['text', 'audio'] }],
  ])('chat: %s is refused with a 400 naming it', (param, extra) => {
    const r = ChatCompletionRequest.safeParse(chat(extra));
    expect(r.success).toBe(false);
    const e = fromZodError(r.error!);
    expect(e).toMatchObject({ status: 400, param, message: expect.stringContaining(`'${param}' is not supported`) });
  });

  it('completions: best_of > 1 is refused', () => {
    const r = CompletionRequest.safeParse({ model: 'm', prompt: 'x', best_of: 3 });
    expect(fromZodError(r.error!)).toMatchObject({ param: 'best_of' });
  });

  it.each([
    ['empty tools', { tools: [] }],
    ['tool_choice none', { tool_choice: 'none' }],
    ['null tools', { tools: null, tool_choice: null }],
    ['empty logit_bias', { logit_bias: {} }],
    ['parallel_tool_calls', { parallel_tool_calls: true }],
    ['tools', { tools: [tool] }],
    ['tool_choice auto', { tool_choice: 'auto' }],
    ['a named tool_choice', { tools: [tool], tool_choice: { type: 'function', function: { name: 'get_weather' } } }],
    ['text modality', { modalities: ['text'] }],
    ['fields that do not change the output', { user: 'u1', metadata: { a: 'b' }, store: false, service_tier: 'auto' }],
  ])('chat: %s is accepted', (_name, extra) => {
    expect(ChatCompletionRequest.safeParse(chat(extra)).success).toBe(true);
  });
});
