/**
 * Bearer tokens of the operator endpoints (the edge's admin API, the origin's `/metrics`): read
 * from `Authorization: Bearer <token>` and compared in constant time.
 */
import { sha256Hex } from './signing.ts';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  return header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
}

/**
 * Whether `presented` equals `expected`, in a time that does not depend on where they differ:
 * their SHA-256 digests are compared in full, so not even the lengths leak.
 */
export async function tokenMatches(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256Hex(presented), sha256Hex(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
