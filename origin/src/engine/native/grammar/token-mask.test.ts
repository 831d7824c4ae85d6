import { describe, expect, it } from 'vitest';
import { compileJsonSchema } from '#shared/json-schema-subset.ts';
import { grammarNodes } from './grammar-nodes.ts';
import { GrammarCache } from './json-constraint.ts';
import { initialState, type MachineState, stepAll } from './json-machine.ts';
import { allowedTokens, applyMask, type TokenVocabulary, VocabIndex } from './token-mask.ts';

const enc = new TextEncoder();
const PIECES = [
  '{',
  '}',
  '"',
  '":',
  '","',
  '{"',
  '"}',
  ',',
  ':',
  '[',
  ']',
  'a',
  'ab',
  'abc',
  'name',
  '"name',
  'age',
  '"age":',
  '1',
  '12',
  '0',
  '-',
  '.',
  '5}',
  'true',
  'tr',
  'null',
  ' ',
  '\n',
  'é',
  '\xff',
  '<eos>',
  '<pad>',
];

/** A vocabulary of PIECES, the last two special (eos and padding), plus two empty ids past `size`. */
function vocab(): TokenVocabulary & { ids: Map<string, number> } {
  const bytes = PIECES.map((p) => (p === '\xff' ? Uint8Array.of(0xff) : enc.encode(p)));
  return {
    size: PIECES.length,
    ids: new Map(PIECES.map((p, i) => [p, i])),
    tokenBytes: (id) => bytes[id] ?? new Uint8Array(0),
    isSpecial: (id) => PIECES[id]!.startsWith('<'),
  };
}
const EOS = PIECES.indexOf('<eos>');
const ROW = PIECES.length + 2;
const schema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 3 }, age: { type: 'integer', minimum: 0, maximum: 15 } },
  required: ['name', 'age'],
  additionalProperties: false,
};

function allowed(mask: Uint32Array): string[] {
  return PIECES.filter((_, id) => (mask[id >>> 5]! >>> (id & 31)) & 1);
}

/** The mask computed the slow way: every token's bytes through the machine on their own. */
function bruteForce(v: TokenVocabulary, state: MachineState): string[] {
  return PIECES.filter((_, id) => !v.isSpecial(id) && v.tokenBytes(id).length > 0 && stepAll(state, v.tokenBytes(id)).length > 0);
}

describe('the token mask', () => {
  const v = vocab();
  const index = new VocabIndex(v);
  const root = grammarNodes(compileJsonSchema(schema));

  it.each([
    ['at the start', ''],
    ['after the opening brace', '{'],
    ['inside a key', '{"na'],
    ['inside a bounded string', '{"name":"a'],
    ['at a full string', '{"name":"abc'],
    ['after a value', '{"name":"abc"'],
    ['inside a bounded integer', '{"name":"abc","age":1'],
    ['after a leading zero', '{"age":0'],
  ])('%s matches walking each token alone', (_name, prefix) => {
    const state = stepAll(initialState(root), enc.encode(prefix));
    expect(state.length).toBeGreaterThan(0);
    expect(allowed(allowedTokens(index, state, Math.ceil(ROW / 32)))).toEqual(bruteForce(v, state));
  });

  it('matches walking each token alone inside strings of several anyOf branches', () => {
    const branches = {
      anyOf: [
        { type: 'string', maxLength: 1 },
        { type: 'string', maxLength: 3 },
        { type: 'string', minLength: 2 },
      ],
    };
    const state = stepAll(
      initialState(grammarNodes(compileJsonSchema({ ...schema, properties: { ...schema.properties, name: branches } }))),
      enc.encode('{"name":"a'),
    );
    expect(state.length).toBe(3);
    expect(allowed(allowedTokens(index, state, Math.ceil(ROW / 32)))).toEqual(bruteForce(v, state));
  });

  it.each([
    ['{', ['"', '"name', '"age":']],
    ['{"name":"abc', ['"', '","']],
    ['{"name":"abc","age":1', ['}', '0', '1', '12', '5}'].filter((p) => p !== '12')],
  ])('after %j allows exactly %j', (prefix, expected) => {
    const state = stepAll(initialState(root), enc.encode(prefix));
    expect(allowed(allowedTokens(index, state, 2)).sort()).toEqual([...expected].sort());
  });

  it('allows eos only once the document is complete, never specials, padding or whitespace', () => {
    const cache = new GrammarCache(v, [EOS], ROW);
    const c = cache.constraint({ type: 'json_schema', schema });
    const row = () => new Float32Array(ROW).fill(1);
    const logits = row();
    c.apply(logits);
    expect(logits[EOS]).toBe(-Infinity);
    expect(logits[v.ids.get(' ')!]).toBe(-Infinity);
    expect(logits[ROW - 1]).toBe(-Infinity);
    for (const piece of ['{"', 'name', '":', '"', 'ab', '","', 'age', '":', '12']) c.accept(v.ids.get(piece)!);
    // {"name":"ab","age":12 — a number may still grow (to no valid value here) or end with }.
    const open = row();
    c.apply(open);
    expect(open[EOS]).toBe(-Infinity);
    expect(open[v.ids.get('}')!]).toBe(1);
    c.accept(v.ids.get('}')!);
    expect(c.finished).toBe(true);
  });

  it('gives eos to a complete root number, which may also continue', () => {
    const cache = new GrammarCache(v, [EOS], ROW);
    const c = cache.constraint({ type: 'json_schema', schema: { type: 'integer', maximum: 99 } });
    c.accept(v.ids.get('1')!);
    const logits = new Float32Array(ROW).fill(0);
    c.apply(logits);
    expect([logits[EOS], logits[v.ids.get('0')!], logits[v.ids.get('12')!]]).toEqual([0, 0, -Infinity]);
    expect(c.finished).toBe(false);
  });

  it('keeps each sequence its own state over one shared grammar', () => {
    const cache = new GrammarCache(v, [EOS], ROW);
    const a = cache.constraint({ type: 'json_object' });
    const b = cache.constraint({ type: 'json_object' });
    a.accept(v.ids.get('{"')!);
    const la = new Float32Array(ROW);
    const lb = new Float32Array(ROW);
    a.apply(la);
    b.apply(lb);
    expect(la[v.ids.get('a')!]).toBe(0);
    expect(lb[v.ids.get('a')!]).toBe(-Infinity);
    expect(lb[v.ids.get('{')!]).toBe(0);
  });

  it('applyMask leaves allowed logits untouched', () => {
    const logits = Float32Array.from({ length: 70 }, (_, i) => i);
    const mask = new Uint32Array(3);
    mask[0] = 0xffffffff;
    mask[1] = 1 << 31;
    mask[2] = 0b101;
    applyMask(logits, mask);
    const kept = [...logits.keys()].filter((i) => logits[i] !== -Infinity);
    expect(kept).toEqual([...Array.from({ length: 32 }, (_, i) => i), 63, 64, 66]);
  });
});
