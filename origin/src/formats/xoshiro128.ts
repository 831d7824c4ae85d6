/**
 * The xoshiro128** generator step, the one copy in the repository. Its exact output is a format:
 * generated checkpoints (model-gen) are defined by it byte for byte, and seeded sampling
 * (engine sampling/prng.ts) repeats a request's tokens only while it stays the same. Seeding
 * differs per user and lives with them; this module only advances a state.
 * Fast in 32-bit integer JS arithmetic; the state lives in locals for the loop because it is the
 * hot path of multi-gigabyte checkpoints.
 */

/** The four 32-bit words of a xoshiro128 state, never all zero. Mutated in place by `fillU32`. */
export type XoshiroState = Uint32Array;

/** Fill `out[start, end)` with the next outputs of the xoshiro128** stream and advance `state`. */
export function fillU32(state: XoshiroState, out: Uint32Array, start = 0, end = out.length): void {
  let s0 = state[0]!;
  let s1 = state[1]!;
  let s2 = state[2]!;
  let s3 = state[3]!;
  for (let i = start; i < end; i++) {
    const m = Math.imul(s1, 5);
    out[i] = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
}
