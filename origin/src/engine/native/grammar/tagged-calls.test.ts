import { describe, expect, it } from 'vitest';
import { compileJsonSchema } from '#shared/json-schema-subset.ts';
import { autoCallSchema, type FunctionTool } from '#shared/openai-tools.ts';
import { grammarNodes } from './grammar-nodes.ts';
import { GrammarCache } from './json-constraint.ts';
import { canContinue, isComplete, type MachineState, step, stepAll } from './json-machine.ts';
import { inFreeText, OPEN_TAG, tagAutomaton, taggedCallsState } from './tagged-calls.ts';
import { allowedTokens, type TokenVocabulary, VocabIndex } from './token-mask.ts';

const enc = new TextEncoder();
const weather: FunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    strict: true,
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 6 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'],
      additionalProperties: false,
    },
  },
};
const time: FunctionTool = { type: 'function', function: { name: 'get_time' } };
const callSchema = autoCallSchema({ tools: [weather, time], choice: 'auto', parallel: true })!;
const start = () => taggedCallsState(grammarNodes(compileJsonSchema(callSchema)));
const run = (text: string): MachineState => stepAll(start(), enc.encode(text));
const accepts = (text: string) => run(text).length > 0;

const CALL = '{"name":"get_weather","arguments":{"city":"Oslo","days":3}}';

describe('tagged calls: free text with constrained <tool_call> blocks', () => {
  it('matches the opening tag like a naive suffix search, for every matched length and byte', () => {
    const next = tagAutomaton(OPEN_TAG);
    const tag = String.fromCharCode(...OPEN_TAG);
    for (let k = 0; k < tag.length; k++) {
      for (let b = 0; b < 256; b++) {
        const text = tag.slice(0, k) + String.fromCharCode(b);
        let longest = 0;
        for (let n = Math.min(text.length, tag.length); n > 0; n--) {
          if (text.endsWith(tag.slice(0, n))) {
            longest = n;
            break;
          }
        }
        expect(next[k * 256 + b], `${JSON.stringify(text)}`).toBe(longest);
      }
    }
  });

  it.each([
    ['plain text', 'The weather is fine.'],
    ['tag-like text that is not the opening tag', 'a <tool_calls> b <tool_cal </tool_call> <<tool_call x'],
    ['a valid call between text', `Let me check.\n<tool_call>\n${CALL}\n</tool_call>\nDone.`],
    ['a call without newlines', `<tool_call>${CALL}</tool_call>`],
    [
      'two calls, the second of a non-strict function with any object',
      `<tool_call>${CALL}</tool_call> and <tool_call>{"name":"get_time","arguments":{"tz":[1,"x"]}}</tool_call>`,
    ],
    ['an overlapping start', `<<tool_call>${CALL}</tool_call>`],
  ])('accepts %s, eos allowed only outside a block', (_name, text) => {
    let state = start();
    let open = false;
    const bytes = enc.encode(text);
    for (let i = 0; i < bytes.length; i++) {
      state = step(state, bytes[i]!);
      expect(state.length, text.slice(0, i + 1)).toBeGreaterThan(0);
      const decoded = text.slice(0, i + 1);
      open = decoded.lastIndexOf('<tool_call>') > decoded.lastIndexOf('</tool_call>');
      expect([isComplete(state), inFreeText(state)], decoded).toEqual([!open, !open]);
      expect(canContinue(state)).toBe(true);
    }
  });

  it.each([
    ['arguments outside the schema', '<tool_call>{"name":"get_weather","arguments":{"city":"Oslo","days":9}}'],
    ['a string past maxLength', '<tool_call>{"name":"get_weather","arguments":{"city":"Bergen1"'],
    ['a missing required argument', '<tool_call>{"name":"get_weather","arguments":{"city":"Oslo"}}'],
    ['a function not offered', '<tool_call>{"name":"get_date"'],
    ['text after the opening tag', '<tool_call> sure'],
    ['two newlines', '<tool_call>\n\n'],
    ['text instead of the closing tag', `<tool_call>${CALL} ok`],
    ['a second call in one block', `<tool_call>${CALL}${CALL}`],
  ])('rejects %s', (_name, text) => {
    expect(accepts(text)).toBe(false);
  });

  it('without parallel calls, allows one block and then only text that never opens another', () => {
    const single = () => taggedCallsState(grammarNodes(compileJsonSchema(callSchema)), false);
    const once = (text: string) => stepAll(single(), enc.encode(text)).length > 0;
    const block = `<tool_call>${CALL}</tool_call>`;
    expect(once(`Sure. ${block} Done.`)).toBe(true);
    expect(isComplete(stepAll(single(), enc.encode(`${block} a <tool_ b`)))).toBe(true);
    expect(once(`${block}\n${block}`)).toBe(false);
    expect(once(`${block} then <tool_call>`)).toBe(false);
    // With parallel calls the second block is fine.
    expect(accepts(`${block}\n${block}`)).toBe(true);
  });

  it('lets the model call any of many non-strict functions (they share one branch of the call)', () => {
    const many: FunctionTool[] = Array.from({ length: 127 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } }));
    const schema = autoCallSchema({ tools: [weather, ...many], choice: 'auto', parallel: true })!;
    const state = taggedCallsState(grammarNodes(compileJsonSchema(schema)));
    expect(stepAll(state, enc.encode('<tool_call>{"name":"f126","arguments":{"a":1}}</tool_call>')).length).toBe(1);
  });

  it('keeps every byte of a valid call allowed: the prefix states all live', () => {
    const text = `x<tool_call>\n${CALL}\n</tool_call>y`;
    for (let i = 0; i <= text.length; i++) expect(accepts(text.slice(0, i))).toBe(true);
  });
});

const PIECES = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  '\n',
  '<tool_call>',
  '<tool',
  '_call',
  '>\n{"',
  '>>',
  '<tool_call>{"name":"',
  'get_weather',
  '","arguments":{"',
  'city',
  '":"',
  'Oslo',
  'Trondheim',
  '}}\n</tool_call>',
  '</tool_call>',
  ' hello',
  '<|im_end|>',
  '<|special|>',
];

/** PIECES as a vocabulary: `<|…|>` ones special, the first of them eos; two padding ids past `size`. */
function vocab(): TokenVocabulary & { ids: Map<string, number>; tokenize(text: string): number[] } {
  const bytes = PIECES.map((p) => enc.encode(p));
  return {
    size: PIECES.length,
    ids: new Map(PIECES.map((p, i) => [p, i])),
    // One byte a token: every prefix is reachable.
    tokenize: (text) => [...text].map((ch) => PIECES.indexOf(ch)),
    tokenBytes: (id) => bytes[id] ?? new Uint8Array(0),
    isSpecial: (id) => PIECES[id]?.startsWith('<|') ?? false,
  };
}

describe('the mask over tagged calls', () => {
  const v = vocab();
  const EOS = v.ids.get('<|im_end|>')!;
  const ROW = PIECES.length + 2;
  const index = new VocabIndex(v, new Set([EOS]));
  const bits = (mask: Uint32Array) => PIECES.filter((_, id) => mask[id >>> 5]! & (1 << (id & 31)));
  const bruteForce = (state: MachineState) => PIECES.filter((p, id) => !p.startsWith('<|') && stepAll(state, v.tokenBytes(id)).length > 0);

  it.each([
    ['free text', ''],
    ['after part of the tag', 'a <tool'],
    ['after the tag', 'a <tool_call>'],
    ['inside the arguments', '<tool_call>{"name":"get_weather","arguments":{"city":"Os'],
    ['after the call', `<tool_call>${CALL}`],
    ['after the block', `<tool_call>${CALL}</tool_call>`],
  ])('%s: the walk allows exactly the tokens whose every byte the machine takes', (_name, prefix) => {
    const state = run(prefix);
    expect(bits(allowedTokens(index, state, Math.ceil(ROW / 32)))).toEqual(bruteForce(state));
  });

  it.each(['', 'a <', '<tool', '<tool_cal', '<tool_call', `<tool_call>${CALL}</tool_call> `])(
    'in free text after %j the grammar allows what the machine takes, textless tokens and eos',
    (prefix) => {
      const c = new GrammarCache(v, [EOS], ROW).constraint({ type: 'tagged_calls', schema: callSchema, parallel: true });
      for (const id of v.tokenize(prefix)) c.accept(id);
      const logits = new Float32Array(ROW);
      c.apply(logits);
      const allowed = [...logits.keys()].filter((id) => logits[id] === 0);
      const textless = [EOS, v.ids.get('<|special|>')!, ROW - 2, ROW - 1];
      const expected = [...bruteForce(run(prefix)).map((p) => v.ids.get(p)!), ...textless].sort((x, y) => x - y);
      expect([c.inFreeText, allowed]).toEqual([true, expected]);
    },
  );

  it('replays a call split across any token boundaries, each token allowed; eos and specials only in free text', () => {
    const cache = new GrammarCache(v, [EOS], ROW);
    const text = `Sure <tool_call>\n{"name":"get_weather","arguments":{"city":"Oslo","days":3}}\n</tool_call> hello`;
    const special = v.ids.get('<|special|>')!;
    // Greedy longest-piece splits starting at each offset give different token boundaries.
    for (let cut = 0; cut < 12; cut++) {
      const c = cache.constraint({ type: 'tagged_calls', schema: callSchema, parallel: true });
      let at = 0;
      while (at < text.length) {
        const rest = text.slice(at);
        const choices = PIECES.filter((p) => !p.startsWith('<|') && rest.startsWith(p)).sort((a, b) => b.length - a.length);
        const piece = at < cut ? rest[0]! : choices[0]!;
        const logits = new Float32Array(ROW);
        c.apply(logits);
        expect(logits[v.ids.get(piece)!], `${text.slice(0, at)}|${piece}`).toBe(0);
        const free = c.inFreeText;
        expect([logits[EOS] === 0, logits[special] === 0, logits[ROW - 1] === 0], text.slice(0, at)).toEqual([free, free, free]);
        c.accept(v.ids.get(piece)!);
        at += piece.length;
      }
      expect([c.inFreeText, c.finished]).toEqual([true, false]);
    }
  });

  it('refuses a token that completes the tag and goes on with bytes no call starts with', () => {
    const cache = new GrammarCache(v, [EOS], ROW);
    const c = cache.constraint({ type: 'tagged_calls', schema: callSchema, parallel: true });
    c.accept(v.ids.get('<tool')!);
    const logits = new Float32Array(ROW);
    c.apply(logits);
    expect([logits[v.ids.get('_call')!], logits[v.ids.get('t')!]]).toEqual([0, 0]);
    c.accept(v.ids.get('_call')!);
    const next = new Float32Array(ROW);
    c.apply(next);
    // `>\n{"` opens the block and the call; `>` alone opens the block; ` hello` stays text; `>>` opens it wrongly.
    expect([next[v.ids.get('>\n{"')!], next[v.ids.get('>')!], next[v.ids.get(' hello')!]]).toEqual([0, 0, 0]);
    expect(next[v.ids.get('>>')!]).toBe(-Infinity);
    c.accept(v.ids.get('>')!);
    const inside = new Float32Array(ROW);
    c.apply(inside);
    expect([inside[v.ids.get(' hello')!], inside[v.ids.get('{')!], inside[EOS]]).toEqual([-Infinity, 0, -Infinity]);
  });
});
