import { describe, expect, it } from 'vitest';
import { parseToolCalls } from './tool-calls.ts';

const names = new Set(['get_time', 'get_weather']);
const ids = () => {
  let n = 0;
  return () => `call_${n++}`;
};
const call = (i: number, name: string, args: string) => ({ id: `call_${i}`, type: 'function', function: { name, arguments: args } });

describe('parseToolCalls', () => {
  it.each([
    ['a bare call (forced answer)', '{"name":"get_time","arguments":{}}', null, [call(0, 'get_time', '{}')]],
    [
      'a list of calls (forced, parallel)',
      '[{"name":"get_time","arguments":{}},{"name":"get_weather","arguments":{"city":"Oslo"}}]',
      null,
      [call(0, 'get_time', '{}'), call(1, 'get_weather', '{"city":"Oslo"}')],
    ],
    [
      'tagged calls among text',
      'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n<tool_call>{"name":"get_time","arguments":{}}</tool_call>',
      'Let me check.',
      [call(0, 'get_weather', '{"city":"Oslo"}'), call(1, 'get_time', '{}')],
    ],
    ['an unclosed last block', '<tool_call>{"name":"get_time","arguments":{}}', null, [call(0, 'get_time', '{}')]],
    ['arguments given as JSON text', '{"name":"get_time","arguments":"{\\"tz\\":\\"UTC\\"}"}', null, [call(0, 'get_time', '{"tz":"UTC"}')]],
    ['plain text', 'It is noon.', 'It is noon.', []],
    ['JSON that is not a call', '{"time":"noon"}', '{"time":"noon"}', []],
    ['a function that was not offered', '<tool_call>{"name":"rm_rf","arguments":{}}</tool_call>', '<tool_call>{"name":"rm_rf","arguments":{}}</tool_call>', []],
    ['arguments that are not an object', '{"name":"get_time","arguments":[1]}', '{"name":"get_time","arguments":[1]}', []],
    ['a broken block stays text', 'a <tool_call>{"name":</tool_call> b', 'a <tool_call>{"name":</tool_call> b', []],
  ])('%s', (_name, text, content, calls) => {
    expect(parseToolCalls(text, { names, single: false }, ids())).toEqual({ content, calls });
  });

  it('gives OpenAI-style random ids by default', () => {
    const { calls } = parseToolCalls('{"name":"get_time","arguments":{}}', { names, single: false });
    expect(calls[0]!.id).toMatch(/^call_[0-9a-f]{24}$/);
  });
});
