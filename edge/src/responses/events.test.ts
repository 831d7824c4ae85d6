import { describe, expect, it } from 'vitest';
import { readSse } from '#shared/sse.ts';
import { type ResponseEvent, responseEvents } from './events.ts';
import { ResponsesRequest } from './request.ts';
import { ResponseObject, toResponseObject } from './response.ts';
import { responsesStream } from './stream.ts';

const ids = { id: 'resp_1', messageId: 'msg_1', createdAt: 1_700_000_000 };
const req = ResponsesRequest.parse({ model: 'motif-test', input: 'hi', metadata: { k: 'v' }, max_output_tokens: 2 });
const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 3 } };
const delta = (content: string, finish: string | null = null) => ({
  model: 'motif-test@r1',
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});
const OPENING = ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'];
const CLOSING = ['response.output_text.done', 'response.content_part.done', 'response.output_item.done'];
const tools = [{ type: 'function', name: 'f', parameters: { type: 'object' } }];
const toolReq = ResponsesRequest.parse({ model: 'motif-test', input: 'hi', tools, tool_choice: 'required' });
const callDelta = (index: number, fn: { name?: string; arguments?: string }, id?: string, finish: string | null = null) => ({
  choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] }, finish_reason: finish }],
});
const chat = (message: Record<string, unknown>, finish: string) => ({
  id: 'c',
  object: 'chat.completion' as const,
  created: 1,
  model: 'motif-test',
  choices: [{ index: 0, message: { role: 'assistant' as const, content: null, ...message }, logprobs: null, finish_reason: finish as 'stop' }],
  usage,
});
const weather = (id: string, args: string) => ({ id, type: 'function' as const, function: { name: 'f', arguments: args } });
const CALL_OPEN = ['response.output_item.added'];
const CALL_CLOSE = ['response.function_call_arguments.done', 'response.output_item.done'];

describe('toResponseObject', () => {
  it.each([
    ['stop → completed', 'stop', 'completed', null],
    ['length → incomplete, max_output_tokens', 'length', 'incomplete', { reason: 'max_output_tokens' }],
    ['content_filter → incomplete', 'content_filter', 'incomplete', { reason: 'content_filter' }],
  ] as const)('%s', (_name, finish, status, incomplete) => {
    const chat = {
      id: 'c',
      object: 'chat.completion' as const,
      created: 1,
      model: 'motif-test',
      choices: [{ index: 0, message: { role: 'assistant' as const, content: 'ab' }, logprobs: null, finish_reason: finish }],
      usage,
    };
    const res = toResponseObject(chat, req, ids);
    expect(ResponseObject.parse(res)).toEqual(res);
    expect(res).toMatchObject({
      id: 'resp_1',
      object: 'response',
      created_at: ids.createdAt,
      status,
      incomplete_details: incomplete,
      output: [{ type: 'message', id: 'msg_1', status, role: 'assistant', content: [{ type: 'output_text', text: 'ab', annotations: [] }] }],
      output_text: 'ab',
      usage: { input_tokens: 5, input_tokens_details: { cached_tokens: 3 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 },
      metadata: { k: 'v' },
      max_output_tokens: 2,
      store: false,
      text: { format: { type: 'text' } },
    });
  });
});

describe('toResponseObject with tool calls', () => {
  it.each([
    [
      'calls only: one function_call item each, no message',
      { tool_calls: [weather('call_a', '{"a":1}'), weather('call_b', '{}')] },
      'tool_calls',
      ['function_call', 'function_call'],
      '',
    ],
    [
      'text, then a call: the message first',
      { content: 'let me see', tool_calls: [weather('call_a', '{}')] },
      'tool_calls',
      ['message', 'function_call'],
      'let me see',
    ],
    ['no call, no text: an empty message', { content: null, tool_calls: [] }, 'stop', ['message'], ''],
  ])('%s', (_name, message, finish, types, text) => {
    const res = toResponseObject(chat(message, finish), toolReq, ids);
    expect(ResponseObject.parse(res)).toEqual(res);
    expect(res.output.map((item) => item.type)).toEqual(types);
    expect(res).toMatchObject({
      status: 'completed',
      output_text: text,
      tool_choice: 'required',
      tools: [{ type: 'function', name: 'f', strict: true, description: null }],
    });
    const calls = res.output.filter((item) => item.type === 'function_call');
    expect(calls).toEqual(
      (message.tool_calls ?? []).map((c, i) => ({
        type: 'function_call',
        id: `fc_1_${i}`,
        call_id: c.id,
        name: 'f',
        arguments: c.function.arguments,
        status: 'completed',
      })),
    );
  });
});

describe('responseEvents with tool calls', () => {
  it.each([
    [
      'one call, arguments in pieces (id and name first)',
      [callDelta(0, { name: 'f', arguments: '' }, 'call_a'), callDelta(0, { arguments: '{"a"' }), callDelta(0, { arguments: ':1}' }), delta('', 'tool_calls')],
      [...CALL_OPEN, 'response.function_call_arguments.delta', 'response.function_call_arguments.delta', ...CALL_CLOSE],
      [{ type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{"a":1}', status: 'completed' }],
    ],
    [
      'two calls, each whole in one chunk (the origin holds calls back)',
      [callDelta(0, { name: 'f', arguments: '{}' }, 'call_a'), callDelta(1, { name: 'f', arguments: '{"b":2}' }, 'call_b'), delta('', 'tool_calls')],
      [...CALL_OPEN, 'response.function_call_arguments.delta', ...CALL_CLOSE, ...CALL_OPEN, 'response.function_call_arguments.delta', ...CALL_CLOSE],
      [
        { type: 'function_call', id: 'fc_1_0', call_id: 'call_a', arguments: '{}' },
        { type: 'function_call', id: 'fc_1_1', call_id: 'call_b', arguments: '{"b":2}' },
      ],
    ],
    [
      'text, then a call: the message closes before the call opens',
      [delta('hm'), callDelta(0, { name: 'f', arguments: '{}' }, 'call_a'), delta('', 'tool_calls')],
      [...OPENING.slice(2), 'response.output_text.delta', ...CLOSING, ...CALL_OPEN, 'response.function_call_arguments.delta', ...CALL_CLOSE],
      [
        { type: 'message', id: 'msg_1', status: 'completed', content: [{ text: 'hm' }] },
        { type: 'function_call', call_id: 'call_a' },
      ],
    ],
    [
      'a piece for a call already closed still reaches the final response',
      [callDelta(0, { name: 'f', arguments: '{"a":' }, 'call_a'), callDelta(1, { name: 'f', arguments: '{}' }, 'call_b'), callDelta(0, { arguments: '1}' })],
      [...CALL_OPEN, 'response.function_call_arguments.delta', ...CALL_CLOSE, ...CALL_OPEN, 'response.function_call_arguments.delta', ...CALL_CLOSE],
      [
        { call_id: 'call_a', arguments: '{"a":1}' },
        { call_id: 'call_b', arguments: '{}' },
      ],
    ],
  ])('%s', (_name, chunks, middle, output) => {
    const state = responseEvents(toolReq, ids);
    const events: ResponseEvent[] = [...state.start(), ...chunks.flatMap((ch) => state.chunk(ch)), ...state.chunk({ choices: [], usage }), ...state.done()];
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', ...middle, 'response.completed']);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const final = events.at(-1)!.response as ResponseObject;
    expect(ResponseObject.parse(final)).toEqual(final);
    expect(final.output).toMatchObject(output);
    // Every item event points at the item's place in the final output.
    for (const e of events.filter((ev) => typeof ev.output_index === 'number')) {
      const item = final.output[e.output_index as number]!;
      if ('item_id' in e) expect(e.item_id).toBe(item.id);
      if ('item' in e) expect((e.item as { id: string }).id).toBe(item.id);
    }
    const added = events.find((e) => e.type === 'response.output_item.added' && (e.item as { type: string }).type === 'function_call');
    expect(added?.item).toMatchObject({ arguments: '', status: 'in_progress' });
  });

  it('a failure mid-call reports the call so far as incomplete', () => {
    const state = responseEvents(toolReq, ids);
    const events = [...state.start(), ...state.chunk(callDelta(0, { name: 'f', arguments: '{"a"' }, 'call_a'))];
    events.push(...state.fail({ message: 'boom', type: 'server_error', param: null, code: 'origin_error' }));
    expect(events.at(-1)).toMatchObject({
      type: 'response.failed',
      response: { output: [{ type: 'function_call', arguments: '{"a"', status: 'incomplete' }] },
    });
  });
});

describe('responseEvents', () => {
  it.each([
    ['text deltas, then a stop', [delta(''), delta('He'), delta('llo', 'stop'), { choices: [], usage }], 'response.completed', 'Hello', 2],
    ['cut by the token budget', [delta('ab'), delta('', 'length'), { choices: [], usage }], 'response.incomplete', 'ab', 1],
    ['nothing generated', [delta('', 'stop'), { choices: [], usage }], 'response.completed', '', 0],
  ])('%s', (_name, chunks, last, text, deltas) => {
    const state = responseEvents(req, ids);
    const events: ResponseEvent[] = [...state.start(), ...chunks.flatMap((ch) => state.chunk(ch)), ...state.done()];
    const types = events.map((e) => e.type);
    expect(types).toEqual([...OPENING, ...Array(deltas).fill('response.output_text.delta'), ...CLOSING, last]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const final = events.at(-1)!.response as ResponseObject;
    expect(ResponseObject.parse(final)).toEqual(final);
    expect(final).toMatchObject({ model: 'motif-test@r1', output_text: text, usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } });
    expect(events.find((e) => e.type === 'response.output_text.done')).toMatchObject({ item_id: 'msg_1', output_index: 0, content_index: 0, text });
  });

  it('a failure ends with an error event and response.failed, keeping the text so far', () => {
    const state = responseEvents(req, ids);
    const events = [...state.start(), ...state.chunk(delta('He')), ...state.fail({ message: 'boom', type: 'server_error', param: null, code: 'origin_error' })];
    expect(events.slice(-2)).toMatchObject([
      { type: 'error', code: 'origin_error', message: 'boom', param: null },
      { type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: 'boom' }, output_text: 'He' } },
    ]);
  });
});

const enc = new TextEncoder();
const sse = (frames: string[]) =>
  new ReadableStream<Uint8Array>({
    start(ctrl) {
      // Split mid-frame: the parser must put frames back together.
      const all = enc.encode(frames.join(''));
      ctrl.enqueue(all.slice(0, 7));
      ctrl.enqueue(all.slice(7));
      ctrl.close();
    },
  });
const data = (v: unknown) => `data: ${JSON.stringify(v)}\n\n`;

describe('responsesStream', () => {
  it.each([
    ['a clean end', [data(delta('Hi', 'stop')), data({ choices: [], usage }), 'data: [DONE]\n\n'], 'response.completed'],
    [
      'an error frame mid-stream',
      [data(delta('Hi')), `event: error\ndata: ${JSON.stringify({ error: { message: 'x', type: 'server_error', param: null, code: 'origin_error' } })}\n\n`],
      'response.failed',
    ],
    ['a stream that just stops', [data(delta('Hi'))], 'response.failed'],
  ])('%s', async (_name, frames, last) => {
    const out = [];
    for await (const ev of readSse(responsesStream(sse(frames), responseEvents(req, ids)))) out.push(ev);
    expect(out.at(-1)?.event).toBe(last);
    for (const ev of out) expect(JSON.parse(ev.data).type).toBe(ev.event);
    expect(out.filter((e) => e.event === 'response.output_text.delta').map((e) => JSON.parse(e.data).delta)).toEqual(['Hi']);
  });
});
