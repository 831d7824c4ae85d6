import { describe, expect, it } from 'vitest';
import { ANY_OBJECT, compileJsonSchema } from '#shared/json-schema-subset.ts';
import { grammarNodes } from './grammar-nodes.ts';
import { canContinue, initialState, isComplete, stepAll } from './json-machine.ts';

const enc = new TextEncoder();

/** 'complete', 'prefix' (valid so far, not finished) or 'reject' for `text` under `schema`. */
function verdict(schema: Record<string, unknown> | null, text: string): string {
  const state = stepAll(initialState(grammarNodes(schema ? compileJsonSchema(schema) : ANY_OBJECT)), enc.encode(text));
  if (state.length === 0) return 'reject';
  return isComplete(state) ? 'complete' : 'prefix';
}

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 5 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 2 },
  },
  required: ['name', 'age'],
  additionalProperties: false,
};
const strict = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });

describe('the JSON recognizer', () => {
  it.each([
    [person, '{"name":"bob","age":42}', 'complete'],
    [person, '{"age":42,"name":"bob"}', 'complete'],
    [person, '{"name":"bob","age":4', 'prefix'],
    [person, '{"name":"bob"}', 'reject'],
    [person, '{"name":"","age":1}', 'reject'],
    [person, '{"name":"bobbyy","age":1}', 'reject'],
    [person, '{"name":"日本語","age":1}', 'complete'],
    [person, '{"name":"a\\nb\\u00e9","age":1}', 'complete'],
    [person, '{"name":"a\nb","age":1}', 'reject'],
    [person, '{"name":"b","age":121}', 'reject'],
    [person, '{"name":"b","age":-1}', 'reject'],
    [person, '{"name":"b","age":07}', 'reject'],
    [person, '{"name":"b","age":1.5}', 'reject'],
    [person, '{"name":"b","age":0,"tags":["a","b"]}', 'complete'],
    [person, '{"name":"b","age":0,"tags":["a","b","a"]}', 'reject'],
    [person, '{"name":"b","age":0,"tags":["c"]}', 'reject'],
    [person, '{"name":"b","age":1,"x":1}', 'reject'],
    [person, '{"name":"b","name":"c","age":1}', 'reject'],
    [person, '{ "name":"b","age":1}', 'reject'],
    [person, '{"name":"b","age":1}x', 'reject'],
    [strict({ x: { type: 'number', minimum: -5, maximum: 5 } }), '{"x":-4.25}', 'complete'],
    [strict({ x: { type: 'number', minimum: -5, maximum: 5 } }), '{"x":4.5}', 'complete'],
    [strict({ x: { type: 'number', minimum: -5, maximum: 5 } }), '{"x":5.1}', 'reject'],
    [strict({ x: { type: 'number', minimum: -5, maximum: 5 } }), '{"x":1e3}', 'reject'],
    [strict({ x: { type: 'integer', minimum: 10, maximum: 20 } }), '{"x":1', 'prefix'],
    [strict({ x: { type: 'integer', minimum: 10, maximum: 20 } }), '{"x":1}', 'reject'],
    [strict({ x: { type: 'integer', minimum: 10, maximum: 20 } }), '{"x":3', 'reject'],
    [strict({ x: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 2 }, { type: 'null' }] } }), '{"x":"ab"}', 'complete'],
    [strict({ x: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 2 }, { type: 'null' }] } }), '{"x":null}', 'complete'],
    [strict({ x: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 2 }, { type: 'null' }] } }), '{"x":true}', 'reject'],
    [strict({ x: { enum: [1, 12, 'a'] } }), '{"x":1}', 'complete'],
    [strict({ x: { enum: [1, 12, 'a'] } }), '{"x":12}', 'complete'],
    [strict({ x: { enum: [1, 12, 'a'] } }), '{"x":2}', 'reject'],
    [strict({ x: { const: { k: [1] } } }), '{"x":{"k":[1]}}', 'complete'],
    [{ ...strict({ x: { $ref: '#/$defs/b' } }), $defs: { b: { type: 'boolean' } } }, '{"x":false}', 'complete'],
    [strict({ a: { type: 'array', items: { type: 'integer' }, minItems: 2 } }), '{"a":[1]}', 'reject'],
    [strict({ a: { type: 'array', items: { type: 'integer' }, minItems: 2 } }), '{"a":[1,2,3,4]}', 'complete'],
    [{ type: 'object', properties: {}, additionalProperties: false }, '{}', 'complete'],
    [{ type: 'object', properties: {}, additionalProperties: false }, '{"a":1}', 'reject'],
    [strict({ s: { type: ['string', 'null'], maxLength: 2 } }), '{"s":"abc"}', 'reject'],
    [strict({ s: { type: ['string', 'null'], maxLength: 2 } }), '{"s":null}', 'complete'],
    [null, '{}', 'complete'],
    [null, '{"a":[1,-2.5,{"b":null}],"c":"x\\n","d":true}', 'complete'],
    [null, '{"a":tru', 'prefix'],
    [null, '[1]', 'reject'],
    [null, '"x"', 'reject'],
    [null, '{"a":01}', 'reject'],
    [null, '{"a":1,}', 'reject'],
  ] as const)('case %#', (schema, text, expected) => {
    expect(verdict(schema as Record<string, unknown> | null, text), text).toBe(expected);
  });

  it('says when nothing may follow (the sequence can end without eos)', () => {
    const root = grammarNodes(compileJsonSchema(person));
    expect(canContinue(stepAll(initialState(root), enc.encode('{"name":"b","age":1}')))).toBe(false);
    // A number at the root may still grow: complete, yet more may follow.
    const n = stepAll(initialState(grammarNodes(compileJsonSchema({ type: 'integer' }))), enc.encode('4'));
    expect([isComplete(n), canContinue(n)]).toEqual([true, true]);
  });

  it.each([
    ['an overlong 3-byte form', [0xe0, 0x80, 0x80], false],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80], false],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80], false],
    ['a stray continuation byte', [0x80], false],
    ['U+0800', [0xe0, 0xa0, 0x80], true],
    ['U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], true],
  ])('strings take well-formed UTF-8 only: %s → %s', (_name, bytes, ok) => {
    const root = grammarNodes(compileJsonSchema(strict({ s: { type: 'string', maxLength: 1 } })));
    const state = stepAll(initialState(root), Uint8Array.from([...enc.encode('{"s":"'), ...bytes, ...enc.encode('"}')]));
    expect(isComplete(state)).toBe(ok);
  });

  it('bounds json_object nesting', () => {
    const deep = '{"a":'.repeat(40);
    expect(verdict(null, deep)).toBe('reject');
    expect(verdict(null, '{"a":'.repeat(20))).toBe('prefix');
  });
});
