/**
 * The differential-attention λ of each layer (SPEC §2.5 step 5). One scalar per layer, shared by
 * all heads; it depends only on weights, so it is computed once at load time.
 */

/**
 * λ_init for the 0-based layer index ℓ: 0.8 − 0.6·exp(−0.3·(ℓ − 1)). The "− 1" is what the
 * released model was trained with (layer 0 gets −0.0099); do not "fix" it to the paper's formula.
 */
export function lambdaInit(layer: number): number {
  return 0.8 - 0.6 * Math.exp(-0.3 * (layer - 1));
}

/** λ_ℓ = exp(λq1·λk1) − exp(λq2·λk2) + λ_init(ℓ). */
export function lambdaFull(layer: number, q1: Float32Array, k1: Float32Array, q2: Float32Array, k2: Float32Array): number {
  if (q1.length !== k1.length || q2.length !== k2.length) throw new RangeError('λ vectors must have equal lengths');
  let d1 = 0;
  let d2 = 0;
  for (let i = 0; i < q1.length; i++) d1 += q1[i]! * k1[i]!;
  for (let i = 0; i < q2.length; i++) d2 += q2[i]! * k2[i]!;
  return Math.exp(d1) - Math.exp(d2) + lambdaInit(layer);
}
