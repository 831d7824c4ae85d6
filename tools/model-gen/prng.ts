/**
 * Seeded pseudo-random numbers for the model generator: xoshiro128** (fast, 32-bit friendly, good
 * statistical quality) seeded through a splitmix-style integer hash. Every tensor gets its own
 * stream derived from (seed, tensor name), so a tensor's values do not depend on tensor order,
 * sharding or dtype — only on the seed and its name.
 */
import type { XoshiroState } from '../../origin/src/formats/xoshiro128.ts';

/** Integer finaliser (splitmix/murmur style): a bijective 32-bit mix with good avalanche. */
export function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `s` (tensor names are ASCII). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export { fillU32, type XoshiroState } from '../../origin/src/formats/xoshiro128.ts';

/**
 * Create the stream state for one named tensor. Two different names (or seeds) give unrelated
 * streams; the state is never all-zero, which xoshiro forbids.
 */
export function streamState(seed: number, name: string): XoshiroState {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  // Fold the full safe-integer seed (up to 53 bits) and the name into a 32-bit key.
  let k = mix32(seed >>> 0) ^ mix32(Math.floor(seed / 2 ** 32) + 0x632be5ab);
  k = mix32(k ^ hashString(name));
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    k = (k + 0x9e3779b9) >>> 0;
    s[i] = mix32(k);
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return s;
}
