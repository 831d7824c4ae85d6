import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { MAX_JSON_DEPTH, parseJson } from './request-body.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('parseJson bounds nesting', () => {
  it.each([
    { name: 'a json_schema', body: `{"response_format":{"type":"json_schema","json_schema":{"schema":${nested(100_000)}}}}`, param: 'response_format' },
    { name: 'an unknown field', body: `{"model":"m","extra":{"a":${nested(1_000_000)}}}`, param: 'extra' },
    { name: 'a root array', body: nested(100_000), param: null },
  ])('refuses $name nested past the limit with a 400 naming the field', ({ body, param }) => {
    const err = (() => {
      try {
        parseJson(bytes(body));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_request_error', param });
    expect((err as ApiError).message).toContain(`${MAX_JSON_DEPTH} levels`);
  });

  it('accepts nesting exactly at the limit and refuses one level more', () => {
    // The root object is level 1; `{"a":` + n arrays reaches level n + 1.
    expect(() => parseJson(bytes(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`))).not.toThrow();
    expect(() => parseJson(bytes(`{"a":${nested(MAX_JSON_DEPTH)}}`))).toThrow(expect.objectContaining({ param: 'a' }));
  });

  it('counts brackets only outside strings and names a key with escapes', () => {
    const inStrings = JSON.stringify({ a: '['.repeat(1000), b: '{"'.repeat(1000), c: '\\"[[[' });
    expect(() => parseJson(bytes(inStrings))).not.toThrow();
    const body = `{"plain":"[[[","we\\"ird[":${nested(MAX_JSON_DEPTH)}}`;
    expect(() => parseJson(bytes(body))).toThrow(expect.objectContaining({ param: 'we"ird[' }));
  });

  it('keeps scalars, wide values and odd but valid text as they are', () => {
    expect(parseJson(bytes('{"n":1e400,"d":-0,"s":"\\ud800"}'))).toEqual({ n: Number.POSITIVE_INFINITY, d: -0, s: '\ud800' });
    expect(parseJson(bytes(JSON.stringify({ ids: Array.from({ length: 100_000 }, (_, i) => i) })))).toMatchObject({ ids: expect.any(Array) });
    expect(parseJson(bytes('"just a string"'))).toBe('just a string');
  });

  it('refuses invalid UTF-8 as invalid_json', () => {
    const body = new Uint8Array([...bytes('{"user":"'), 0xc3, 0x28, ...bytes('"}')]);
    expect(() => parseJson(body)).toThrow(expect.objectContaining({ code: 'invalid_json', status: 400 }));
  });

  it('refuses exactly the values nested deeper than the limit, whatever their strings hold', () => {
    const depthOf = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    const text = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', ':', 'a', 'é') });
    fc.assert(
      fc.property(
        fc.letrec((tie) => ({ value: fc.oneof({ depthSize: 'small' }, text, fc.array(tie('value')), fc.dictionary(text, tie('value'))) })).value,
        fc.integer({ min: 1, max: 6 }),
        (value, limit) => {
          const parse = () => parseJson(bytes(JSON.stringify(value)), limit);
          if (depthOf(value) > limit) expect(parse).toThrow(ApiError);
          else expect(parse()).toEqual(value);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('any JSON value, however shaped, parses or is a 400 ApiError (never another error)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 80 }), (value) => {
        try {
          parseJson(bytes(JSON.stringify(value)));
        } catch (e) {
          expect(e).toBeInstanceOf(ApiError);
          expect((e as ApiError).status).toBe(400);
        }
      }),
      { numRuns: 300 },
    );
  });
});
