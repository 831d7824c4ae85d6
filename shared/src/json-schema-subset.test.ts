import { describe, expect, it } from 'vitest';
import { fromZodError } from './errors.ts';
import { compileJsonSchema, SCHEMA_LIMITS, UnsupportedSchemaError, unsupportedSchemaReason } from './json-schema-subset.ts';
import { ChatCompletionRequest, CompletionRequest } from './openai.ts';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...extra,
});

describe('the supported JSON Schema subset', () => {
  it.each([
    ['an empty object', obj({})],
    ['strings with bounds', obj({ s: { type: 'string', minLength: 1, maxLength: 8, description: 'd', title: 't' } })],
    [
      'bounded integers and numbers',
      obj({ i: { type: 'integer', minimum: -3, maximum: 9 }, n: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1.5 } }),
    ],
    ['booleans, nulls and nullable types', obj({ b: { type: 'boolean' }, z: { type: 'null' }, s: { type: ['string', 'null'] } })],
    ['arrays with bounds', obj({ a: { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 3 } })],
    ['enum and const', obj({ e: { type: 'string', enum: ['red', 'green'] }, c: { const: 42 } })],
    ['anyOf', obj({ x: { anyOf: [{ type: 'string', maxLength: 2 }, { type: 'integer' }] } })],
    ['$defs / $ref, shared twice', { ...obj({ a: { $ref: '#/$defs/p' }, b: { $ref: '#/$defs/p' } }), $defs: { p: obj({ q: { type: 'boolean' } }) } }],
    [
      'definitions (zod output)',
      { ...obj({ a: { $ref: '#/definitions/p' } }), definitions: { p: { type: 'string' } }, $schema: 'http://json-schema.org/draft-07/schema#' },
    ],
    ['optional properties', { ...obj({ a: { type: 'string' } }), required: [] }],
  ])('%s compiles', (_name, schema) => {
    expect(unsupportedSchemaReason(schema)).toBeUndefined();
  });

  it.each([
    ['pattern', obj({ s: { type: 'string', pattern: '^a$' } }), '#/properties/s'],
    ['format', obj({ s: { type: 'string', format: 'date' } }), '#/properties/s'],
    ['oneOf', { oneOf: [{ type: 'string' }] }, '#'],
    ['allOf', obj({ a: { allOf: [] } }), '#/properties/a'],
    ['multipleOf', obj({ n: { type: 'integer', multipleOf: 2 } }), '#/properties/n'],
    ['uniqueItems', obj({ a: { type: 'array', uniqueItems: true } }), '#/properties/a'],
    ['patternProperties', { type: 'object', patternProperties: {} }, '#'],
    ['additionalProperties', { type: 'object', additionalProperties: { type: 'string' } }, '#'],
    ['$ref', { ...obj({ a: { $ref: '#/$defs/t' } }), $defs: { t: obj({ next: { $ref: '#/$defs/t' } }) } }, '#/$defs/t/properties/next'],
    ['$ref', obj({ a: { $ref: 'https://example.com/s.json' } }), '#/properties/a'],
    ['$ref', obj({ a: { $ref: '#/$defs/missing' } }), '#/properties/a'],
    ['required', { type: 'object', properties: {}, required: ['ghost'] }, '#'],
    ['type', { type: 'date' }, '#'],
    ['properties', obj(Object.fromEntries(Array.from({ length: SCHEMA_LIMITS.properties + 1 }, (_, i) => [`p${i}`, { type: 'null' }]))), '#'],
    ['maxLength', obj({ s: { type: 'string', maxLength: -1 } }), '#/properties/s'],
    ['minItems', obj({ a: { type: 'array', minItems: SCHEMA_LIMITS.forcedLength + 1 } }), '#/properties/a'],
    ['minimum', obj({ i: { type: 'integer', minimum: 0.2, maximum: 0.8 } }), '#/properties/i'],
  ])("'%s' is refused, naming the keyword and where (%#)", (keyword, schema, at) => {
    let caught: unknown;
    try {
      compileJsonSchema(schema);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnsupportedSchemaError);
    expect(caught).toMatchObject({ keyword, at });
    expect((caught as Error).message).toContain(`(at ${at})`);
  });

  it('bounds the compiled size', () => {
    const wide = (depth: number): unknown =>
      depth === 0 ? { type: 'null' } : obj(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, wide(depth - 1)])));
    expect(unsupportedSchemaReason(wide(4) as Record<string, unknown>)).toMatch(/more than 512 parts/);
  });

  it.each([
    ['chat', ChatCompletionRequest, { messages: [{ role: 'user', content: 'hi' }] }],
    ['completions', CompletionRequest, { prompt: 'hi' }],
  ])('the %s request schema refuses it with a 400 naming response_format and the keyword', (_name, schema, body) => {
    const request = {
      model: 'm',
      ...body,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: obj({ s: { type: 'string', pattern: 'a' } }) } },
    };
    const r = schema.safeParse(request);
    expect(r.success).toBe(false);
    const e = fromZodError(r.error!);
    expect(e.status).toBe(400);
    expect(e.param).toBe('response_format.json_schema.schema');
    expect(e.message).toMatch(/'pattern' is not supported.*#\/properties\/s/);
  });
});
