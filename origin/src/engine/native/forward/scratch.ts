/**
 * Activation buffers for one chunk of stacked rows, allocated once per size and reused by every
 * call, so the hot path allocates nothing.
 */
import type { MotifConfig } from '../checkpoint/config.ts';

export class ForwardScratch {
  /** Rows every buffer has room for. */
  readonly rows: number;
  /** Residual stream [rows, hidden]. */
  readonly x: Float32Array;
  /** Normalised input of the attention or MLP block [rows, hidden]. */
  readonly u: Float32Array;
  /** Fused q/k/v projection output [rows, 3·heads·head_dim]: each row is q ‖ k ‖ v. */
  readonly qkv: Float32Array;
  /** Attention output before o_proj [rows, heads·head_dim]. */
  readonly z: Float32Array;
  /** Block output before the residual add [rows, hidden]. */
  readonly out: Float32Array;
  /** Fused gate/up projection output [rows, 2·intermediate]: each row is gate ‖ up. */
  readonly gateUp: Float32Array;
  /** PolyNorm(gate) ⊙ up, the input of down_proj [rows, intermediate]. */
  readonly act: Float32Array;
  /** RoPE tables per row [rows, head_dim/2]. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  /** Token id and absolute position of each row. */
  readonly ids: Int32Array;
  readonly positions: Int32Array;

  constructor(c: MotifConfig, rows: number) {
    const D = c.hidden_size;
    const A = c.num_attention_heads * c.head_dim;
    const I = c.intermediate_size;
    this.rows = rows;
    this.x = new Float32Array(rows * D);
    this.u = new Float32Array(rows * D);
    this.qkv = new Float32Array(rows * 3 * A);
    this.z = new Float32Array(rows * A);
    this.out = new Float32Array(rows * D);
    this.gateUp = new Float32Array(rows * 2 * I);
    this.act = new Float32Array(rows * I);
    this.cos = new Float64Array((rows * c.head_dim) / 2);
    this.sin = new Float64Array((rows * c.head_dim) / 2);
    this.ids = new Int32Array(rows);
    this.positions = new Int32Array(rows);
  }
}
