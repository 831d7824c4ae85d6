/**
 * Seeded pseudo-random numbers for sampling. Each request owns one generator, so the same seed and
 * the same request give the same tokens regardless of what else runs in the batch. xoshiro128**
 * (small state, fast in 32-bit integer JS arithmetic) seeded through splitmix32, which spreads
 * nearby seeds (0, 1, 2, …) over unrelated states. The generator step is formats/xoshiro128.ts.
 */
import { fillU32 } from '../../../formats/xoshiro128.ts';

/** A source of uniform floats in [0, 1). */
export interface Prng {
  next(): number;
}

const TWO_POW_32 = 0x1_0000_0000;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

class Xoshiro128 implements Prng {
  private readonly state = new Uint32Array(4);
  private readonly words = new Uint32Array(2);

  constructor(lo: number, hi: number) {
    // Both halves of the seed feed the state so seeds that differ only above bit 32 still differ.
    const sm = { s: lo ^ Math.imul(hi, 0x632be5ab) };
    const s = this.state;
    s[0] = splitmix32(sm);
    s[1] = splitmix32(sm) ^ hi;
    s[2] = splitmix32(sm);
    s[3] = splitmix32(sm);
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[3] = 1; // the all-zero state is a fixed point
  }

  next(): number {
    // 53 random bits: the full precision of a double, so tiny probabilities are still reachable.
    fillU32(this.state, this.words);
    const hi = this.words[0]! >>> 5;
    const lo = this.words[1]! >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/**
 * A deterministic generator for `seed` (any safe integer, negative too), or a randomly seeded one
 * when `seed` is undefined. Throws RangeError for non-integers, which callers validate earlier.
 */
export function createPrng(seed?: number): Prng {
  if (seed === undefined) {
    const buf = new Uint32Array(2);
    crypto.getRandomValues(buf);
    return new Xoshiro128(buf[0]!, buf[1]!);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0; // low 32 bits (two's complement for negatives)
  const hi = Math.floor(seed / TWO_POW_32) | 0;
  return new Xoshiro128(lo, hi);
}
