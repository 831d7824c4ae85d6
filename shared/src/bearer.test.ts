import { describe, expect, it } from 'vitest';
import { bearerToken, tokenMatches } from './bearer.ts';

describe('bearer tokens', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer  abc  ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer a b', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('bearerToken(%j) = %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('matches only the exact token', async () => {
    expect(await tokenMatches('s3cret-token-0123456789', 's3cret-token-0123456789')).toBe(true);
    for (const other of ['s3cret-token-012345678', 's3cret-token-01234567890', 'S3cret-token-0123456789', '']) {
      expect(await tokenMatches(other, 's3cret-token-0123456789')).toBe(false);
    }
  });
});
