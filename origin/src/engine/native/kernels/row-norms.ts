/**
 * The forward pass's row norms as a kernel may offer them natively: exactly what forward/norms.ts
 * computes in JavaScript (the reference and the portable path), declared here beside the matmul
 * port so a kernel can offer them without the kernels folder importing the forward pass.
 */
export interface RowNorms {
  /** RMSNorm over `rows` rows of `width`: dst[r] = gain ⊙ src[r] / √(mean(src[r]²) + eps); dst may be src. */
  rmsNormRows(dst: Float32Array, src: Float32Array, rows: number, width: number, gain: Float32Array, eps: number): void;
  /**
   * PolyNorm over the fused gate/up rows ([gate (width) ‖ up (width)] each) times up, into dst
   * [rows × width]; `weight` holds w₀ (cube), w₁ (square), w₂ (identity).
   */
  polyNormGateFused(dst: Float32Array, gateUp: Float32Array, rows: number, width: number, weight: Float32Array, bias: number, eps: number): void;
}
