/**
 * What a kernel's native attention computes: differential attention of one layer for `count`
 * query rows of one sequence, exactly what forward/attention.ts `attendSegment` computes in
 * JavaScript (the reference and the portable path). Declared here, beside the matmul port, so a
 * kernel can offer it without the kernels folder importing the forward pass.
 */
/** The layer's attention constants (one object per layer, built at load). */
export interface AttentionParams {
  /** Physical heads (Q, K and V each have this many; even: differential head h pairs 2h and 2h + 1). */
  readonly heads: number;
  readonly headDim: number;
  readonly lambda: number;
  readonly lambdaInit: number;
  /** RMSNorm gain over 2·headDim channels. */
  readonly subln: Float32Array;
  readonly eps: number;
}

export interface AttentionCall extends AttentionParams {
  /** Output rows (row width heads·headDim); rows qRow … qRow + count − 1 are written. */
  readonly z: Float32Array;
  /** Query rows of stride qStride, the heads·headDim query values first in each. */
  readonly q: Float32Array;
  readonly qStride: number;
  readonly qRow: number;
  readonly count: number;
  /** Absolute position of the first query row; row t attends to positions 0 … startPos + t. */
  readonly startPos: number;
  /** The layer's cache blocks: position τ is row τ & (2^shift − 1) of block τ >> shift. */
  readonly k: readonly Float32Array[];
  readonly v: readonly Float32Array[];
  readonly shift: number;
}
