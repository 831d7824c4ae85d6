import { describe, expect, it } from 'vitest';
import { parseToolCalls } from './tool-calls.ts';
import { type ToolStreamPiece, toolStreamSplitter } from './tool-stream.ts';

const NAMES = new Set(['get_time', 'add']);
const OFFER = { names: NAMES, single: false };
const ids = () => {
  let n = 0;
  return () => `call_${n++}`;
};
const call = (name: string, args: object) => `<tool_call>{"name":"${name}","arguments":${JSON.stringify(args)}}</tool_call>`;

/** Feed `text` in pieces of `size` characters; returns every push's pieces, then the end's. */
function run(text: string, size: number): { pushes: ToolStreamPiece[][]; end: ToolStreamPiece[] } {
  const s = toolStreamSplitter(OFFER, ids());
  const pushes: ToolStreamPiece[][] = [];
  for (let i = 0; i < text.length; i += size) pushes.push(s.push(text.slice(i, i + size)));
  return { pushes, end: s.end() };
}

/** Content joined and the calls, as the client would assemble them. */
function assembled(pieces: ToolStreamPiece[]) {
  return {
    content: pieces.flatMap((p) => (p.kind === 'content' ? [p.text] : [])).join(''),
    calls: pieces.flatMap((p) => (p.kind === 'call' ? [[p.call.function.name, p.call.function.arguments]] : [])),
  };
}

describe('toolStreamSplitter', () => {
  const cases: { name: string; text: string; content: string; calls: string[][] }[] = [
    { name: 'plain text', text: 'It is noon.', content: 'It is noon.', calls: [] },
    { name: 'text keeps a lone angle bracket', text: 'a < b and <b>bold</b>', content: 'a < b and <b>bold</b>', calls: [] },
    { name: 'text, then a call', text: `Let me check.\n${call('get_time', { tz: 'UTC' })}`, content: 'Let me check.', calls: [['get_time', '{"tz":"UTC"}']] },
    {
      name: 'two calls in a row',
      text: `${call('get_time', {})}\n${call('add', { a: 1, b: 2 })}`,
      content: '',
      calls: [
        ['get_time', '{}'],
        ['add', '{"a":1,"b":2}'],
      ],
    },
    { name: 'text after a call', text: `${call('get_time', {})} Done.`, content: 'Done.', calls: [['get_time', '{}']] },
    { name: 'a block naming no offered function stays text', text: call('rm_rf', {}), content: call('rm_rf', {}), calls: [] },
    { name: 'a block that is not JSON stays text', text: '<tool_call>oops</tool_call>', content: '<tool_call>oops</tool_call>', calls: [] },
    { name: 'an unclosed block that parses is a call', text: '<tool_call>{"name":"add","arguments":{}}', content: '', calls: [['add', '{}']] },
    { name: 'an unclosed block cut short is text', text: '<tool_call>{"name":"add","argu', content: '<tool_call>{"name":"add","argu', calls: [] },
    { name: 'a bare call object (forced form)', text: ' {"name":"add","arguments":{"a":1}}', content: '', calls: [['add', '{"a":1}']] },
    {
      name: 'a list of bare call objects',
      text: '[{"name":"add","arguments":{}},{"name":"get_time","arguments":{}}]',
      content: '',
      calls: [
        ['add', '{}'],
        ['get_time', '{}'],
      ],
    },
    { name: 'JSON that is not a call stays text', text: '{"answer": 42}', content: '{"answer": 42}', calls: [] },
    { name: 'whitespace only', text: '  \n', content: '  \n', calls: [] },
  ];

  for (const c of cases)
    it(`${c.name}: the same answer however the text is cut`, () => {
      for (const size of [1, 2, 3, 7, 1000]) {
        const { pushes, end } = run(c.text, size);
        expect(assembled([...pushes.flat(), ...end]), `pieces of ${size}`).toEqual({ content: c.content, calls: c.calls });
      }
    });

  it('agrees with the parser of whole answers on content and calls', () => {
    for (const c of cases) {
      const whole = parseToolCalls(c.text, OFFER, ids());
      const streamed = assembled([...run(c.text, 1).pushes.flat(), ...run(c.text, 1).end]);
      expect(streamed.calls).toEqual(whole.calls.map((k) => [k.function.name, k.function.arguments]));
      expect(streamed.content.trim()).toBe((whole.content ?? '').trim());
    }
  });

  it('streams text as it comes and each call as its block closes', () => {
    const s = toolStreamSplitter(OFFER, ids());
    expect(s.push('Checking')).toEqual([{ kind: 'content', text: 'Checking' }]);
    // A tail that may open a block waits; trailing whitespace too.
    expect(s.push('. <tool')).toEqual([{ kind: 'content', text: '.' }]);
    expect(s.push('_call>{"name":"add",')).toEqual([]);
    expect(s.called).toBe(false);
    const closed = s.push('"arguments":{}}</tool_call>');
    expect(closed).toEqual([{ kind: 'call', call: { id: 'call_0', type: 'function', function: { name: 'add', arguments: '{}' } } }]);
    expect(s.called).toBe(true);
    expect(s.end()).toEqual([]);
  });

  it('with parallel_tool_calls false, keeps the first call and leaves later blocks as text, streamed or whole', () => {
    const single = { names: NAMES, single: true };
    const text = `${call('get_time', {})}\n${call('add', { a: 1 })}`;
    for (const size of [1, 5, 1000]) {
      const s = toolStreamSplitter(single, ids());
      const pieces: ToolStreamPiece[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(...s.push(text.slice(i, i + size)));
      pieces.push(...s.end());
      expect(assembled(pieces)).toEqual({ content: call('add', { a: 1 }), calls: [['get_time', '{}']] });
    }
    const whole = parseToolCalls(text, single, ids());
    expect(whole.calls.map((c) => c.function.name)).toEqual(['get_time']);
    expect(whole.content).toBe(call('add', { a: 1 }));
    // A bare list of two calls is not one call: it stays text.
    expect(parseToolCalls('[{"name":"add","arguments":{}},{"name":"add","arguments":{}}]', single, ids()).calls).toEqual([]);
  });

  it('holds an answer that opens with a brace until it ends', () => {
    const s = toolStreamSplitter(OFFER, ids());
    expect(s.push('{"name":"add",')).toEqual([]);
    expect(s.push('"arguments":{}}')).toEqual([]);
    expect(s.end().map((p) => p.kind)).toEqual(['call']);
  });
});
