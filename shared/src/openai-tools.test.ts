import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { fromZodError } from './errors.ts';
import { compileJsonSchema } from './json-schema-subset.ts';
import { ChatCompletionRequest, toolRequest } from './openai.ts';
import { autoCallSchema, type FunctionTool, forcedToolSchema, TOOL_LIMITS, type ToolRequest, toolRequestProblem } from './openai-tools.ts';

const fn = (name: string, parameters?: Record<string, unknown>, strict?: boolean): FunctionTool => ({
  type: 'function',
  function: { name, ...(parameters ? { parameters } : {}), ...(strict !== undefined ? { strict } : {}) },
});
const weather = fn('get_weather', { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'], additionalProperties: false });
const time = fn('get_time');
const chat = (extra: Record<string, unknown>) => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra });
const ajv = new Ajv({ strict: false });

describe('forcedToolSchema', () => {
  it.each<[string, ToolRequest, unknown, boolean]>([
    [
      'a named function takes one call of it',
      { tools: [weather, time], choice: { name: 'get_time' }, parallel: true },
      { name: 'get_time', arguments: {} },
      true,
    ],
    [
      'a named function refuses another',
      { tools: [weather, time], choice: { name: 'get_time' }, parallel: true },
      { name: 'get_weather', arguments: { city: 'x' } },
      false,
    ],
    [
      'required, not parallel: one call of any',
      { tools: [weather, time], choice: 'required', parallel: false },
      { name: 'get_weather', arguments: { city: 'Oslo' } },
      true,
    ],
    ['arguments follow the parameters', { tools: [weather], choice: 'required', parallel: false }, { name: 'get_weather', arguments: {} }, false],
    [
      'required, parallel: a list of calls',
      { tools: [weather, time], choice: 'required', parallel: true },
      [
        { name: 'get_time', arguments: {} },
        { name: 'get_weather', arguments: { city: 'a' } },
      ],
      true,
    ],
    ['required, parallel: never an empty list', { tools: [weather], choice: 'required', parallel: true }, [], false],
  ])('%s', (_name, req, value, valid) => {
    const schema = forcedToolSchema(req)!;
    expect(() => compileJsonSchema(schema)).not.toThrow();
    expect(ajv.validate(schema, value)).toBe(valid);
  });

  it('is undefined when the model chooses', () => {
    expect(forcedToolSchema({ tools: [weather], choice: 'auto', parallel: true })).toBeUndefined();
  });

  it("keeps each function's $defs resolvable under its own prefix", () => {
    const pt = { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'], additionalProperties: false };
    const a = fn('a', { type: 'object', properties: { p: { $ref: '#/$defs/pt' } }, required: ['p'], $defs: { pt } });
    const b = fn('b', { type: 'object', properties: { q: { $ref: '#/definitions/pt' } }, required: ['q'], definitions: { pt: { type: 'string' } } });
    const schema = forcedToolSchema({ tools: [a, b], choice: 'required', parallel: false })!;
    expect(() => compileJsonSchema(schema)).not.toThrow();
    expect(ajv.validate(schema, { name: 'a', arguments: { p: { x: 1 } } })).toBe(true);
    expect(ajv.validate(schema, { name: 'b', arguments: { q: 'text' } })).toBe(true);
    expect(ajv.validate(schema, { name: 'b', arguments: { q: 1 } })).toBe(false);
  });
});

describe('autoCallSchema', () => {
  const strictWeather = fn('get_weather', weather.function.parameters, true);
  const schema = autoCallSchema({ tools: [strictWeather, time], choice: 'auto', parallel: true })!;

  it.each<[string, unknown, boolean]>([
    ['a strict call with valid arguments', { name: 'get_weather', arguments: { city: 'Oslo' } }, true],
    ['a strict call with invalid arguments', { name: 'get_weather', arguments: { city: 'Llanfairpwll' } }, false],
    ['a non-strict call with any object', { name: 'get_time', arguments: { anything: [1, 'x'] } }, true],
    ['a non-strict call with arguments that are not an object', { name: 'get_time', arguments: 'now' }, false],
    ['a function not offered', { name: 'get_date', arguments: {} }, false],
  ])('%s: %s', (_name, value, valid) => {
    expect(() => compileJsonSchema(schema)).not.toThrow();
    expect(ajv.validate(schema, value)).toBe(valid);
  });

  it('stays within the schema limits with the most tools, one strict', () => {
    const many = Array.from({ length: TOOL_LIMITS.tools - 1 }, (_, i) => fn(`f${i}`, { type: 'object', properties: { x: { type: 'string' } } }));
    const req: ToolRequest = { tools: [strictWeather, ...many], choice: 'auto', parallel: true };
    expect(toolRequestProblem(req)).toBeUndefined();
    expect(ajv.validate(autoCallSchema(req)!, { name: 'f99', arguments: { y: 1 } })).toBe(true);
  });

  it('is undefined without a strict function, or when the choice forces a call', () => {
    expect(autoCallSchema({ tools: [weather, time], choice: 'auto', parallel: true })).toBeUndefined();
    expect(autoCallSchema({ tools: [strictWeather], choice: 'required', parallel: true })).toBeUndefined();
  });
});

describe('toolRequestProblem', () => {
  const odd = fn('odd', { type: 'object', properties: { s: { type: 'string', pattern: '^a' } } });
  it.each<[string, ToolRequest, [string, string] | undefined]>([
    ['auto with a schema outside the subset: only rendered', { tools: [odd], choice: 'auto', parallel: true }, undefined],
    [
      'required with a schema outside the subset',
      { tools: [odd], choice: 'required', parallel: true },
      [expect.stringContaining("'pattern'"), 'tools.0.function.parameters'] as never,
    ],
    [
      'strict with a schema outside the subset',
      { tools: [weather, fn('s', odd.function.parameters, true)], choice: 'auto', parallel: true },
      [expect.stringContaining("'pattern'"), 'tools.1.function.parameters'] as never,
    ],
    ['named: other functions are only rendered', { tools: [odd, time], choice: { name: 'get_time' }, parallel: true }, undefined],
    ['named: an unknown function', { tools: [time], choice: { name: 'nope' }, parallel: true }, [expect.stringContaining("'nope'"), 'tool_choice'] as never],
    [
      'two functions of one name',
      { tools: [time, time], choice: 'auto', parallel: true },
      [expect.stringContaining('get_time'), 'tools.1.function.name'] as never,
    ],
  ])('%s', (_name, req, problem) => {
    expect(toolRequestProblem(req)).toEqual(problem);
  });
});

describe('tools in a chat request', () => {
  const call = { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } };
  it.each([
    ['tool_calls on a user message', { messages: [{ role: 'user', content: 'x', tool_calls: [call] }] }, 'messages.0.tool_calls'],
    ['a tool message without its id', { messages: [{ role: 'tool', content: '42' }] }, 'messages.0.tool_call_id'],
    ['tool_choice required without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['tools and response_format together', { tools: [time], response_format: { type: 'json_object' } }, 'response_format'],
    ['tools and logprobs together', { tools: [time], logprobs: true }, 'logprobs'],
    [
      'a tool schema outside the subset, forced',
      { tools: [fn('f', { type: 'object', patternProperties: {} })], tool_choice: 'required' },
      'tools.0.function.parameters',
    ],
    ['a bad function name', { tools: [fn('has space')] }, 'tools.0.function.name'],
  ])('%s is a 400 naming %s', (_name, extra, param) => {
    const r = ChatCompletionRequest.safeParse(chat(extra));
    expect(r.success).toBe(false);
    expect(fromZodError(r.error!)).toMatchObject({ status: 400, param });
  });

  it('accepts a history with a call and its result, and maps the choice', () => {
    const req = ChatCompletionRequest.parse(
      chat({
        messages: [
          { role: 'user', content: 'time?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
        ],
        tools: [time],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
        parallel_tool_calls: false,
      }),
    );
    expect(toolRequest(req)).toEqual({ tools: [time], choice: { name: 'get_time' }, parallel: false });
    expect(toolRequest({ ...req, tool_choice: 'none' })).toBeUndefined();
  });
});
