import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, errorResponse, parseErrorBody, toApiError, toErrorResponseParts } from './errors.ts';

describe('error mapping', () => {
  it.each([
    ['invalid_api_key', 401, 'authentication_error'],
    ['model_not_found', 404, 'invalid_request_error'],
    ['rate_limit_exceeded', 429, 'rate_limit_error'],
    ['origin_unavailable', 503, 'server_error'],
  ] as const)('%s → %i %s', (code, status, type) => {
    const parts = toErrorResponseParts(new ApiError(code, 'm'));
    expect(parts.status).toBe(status);
    expect(parts.body.error).toEqual({ message: 'm', type, param: null, code });
  });

  it('hides internals of unknown errors', () => {
    const parts = toErrorResponseParts(new Error('secret stack detail'));
    expect(parts.status).toBe(500);
    expect(parts.body.error.message).not.toContain('secret');
  });

  it('names the offending param of a zod failure', () => {
    const r = z.object({ temperature: z.number().max(2) }).safeParse({ temperature: 5 });
    const e = toApiError(r.error);
    expect(e.status).toBe(400);
    expect(e.param).toBe('temperature');
  });

  it.each([
    ['a list item', ['a', 1], 'p.1', 'expected string'],
    ['a number where a string or list goes', 5, 'p', 'Invalid input'],
    ['an object option', { k: 1 }, 'p.k', 'expected string'],
  ])('inside a union, names the option the value was: %s', (_name, value, param, message) => {
    const schema = z.object({ p: z.union([z.string(), z.array(z.string()), z.object({ k: z.string() })]) });
    const e = toApiError(schema.safeParse({ p: value }).error);
    expect(e.param).toBe(param);
    expect(e.message).toContain(message);
  });

  it('renders retry-after', async () => {
    const res = errorResponse(new ApiError('overloaded', 'busy', { retryAfter: 1.2 }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await res.json()).error.code).toBe('overloaded');
  });

  it('parses an upstream error body, falling back on the status', () => {
    expect(parseErrorBody(429, JSON.stringify({ error: { message: 'x', type: 't', param: null, code: 'rate_limit_exceeded' } })).code).toBe(
      'rate_limit_exceeded',
    );
    expect(parseErrorBody(502, 'not json').status).toBe(502);
  });
});
