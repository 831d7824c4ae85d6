/**
 * The tensors of a Motif checkpoint (SPEC §2.8: real names and shapes, tied embeddings so no
 * `lm_head.weight`) and how each is initialised. The init keeps a random model numerically tame
 * over all layers: projections ~N(0, 1/fan_in), residual-writing projections further scaled by
 * 1/√(2L) (GPT-2 style) so the residual stream grows slowly, norm weights 1 + noise, small
 * non-zero λ vectors, PolyNorm weights near [0.3, 0.3, 0.4].
 */
import type { StorageDtype } from './dtype.ts';
import type { MotifArch } from './model-config.ts';
import type { TensorSpec } from './safetensors-writer.ts';

/** value = mean (scalar, or cycled per element) + std · N(0, 1). */
export interface InitSpec {
  mean: number | readonly number[];
  std: number;
}

export interface ModelTensor extends TensorSpec {
  init: InitSpec;
}

/** Every tensor of the checkpoint in Hugging Face state-dict order, with its init. */
export function motifTensors(arch: MotifArch, dtype: StorageDtype): ModelTensor[] {
  const D = arch.hidden_size;
  const I = arch.intermediate_size;
  const L = arch.num_hidden_layers;
  const headDim = D / arch.num_attention_heads;
  const kvDim = arch.num_key_value_heads * headDim;
  const proj = 1 / Math.sqrt(D);
  const residual = 1 / Math.sqrt(2 * L);
  const norm: InitSpec = { mean: 1, std: 0.05 };
  const t = (name: string, shape: number[], init: InitSpec): ModelTensor => ({ name, dtype, shape, init });

  const out: ModelTensor[] = [t('model.embed_tokens.weight', [arch.vocab_size, D], { mean: 0, std: proj })];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    out.push(
      t(`${p}.self_attn.q_proj.weight`, [D, D], { mean: 0, std: proj }),
      t(`${p}.self_attn.k_proj.weight`, [kvDim, D], { mean: 0, std: proj }),
      t(`${p}.self_attn.v_proj.weight`, [kvDim, D], { mean: 0, std: proj }),
      t(`${p}.self_attn.o_proj.weight`, [D, D], { mean: 0, std: proj * residual }),
      // λ = exp(q1·k1) − exp(q2·k2) + λinit: std 0.1 keeps each dot product ~0.1·0.1·√d.
      t(`${p}.self_attn.lambda_q1`, [headDim], { mean: 0, std: 0.1 }),
      t(`${p}.self_attn.lambda_k1`, [headDim], { mean: 0, std: 0.1 }),
      t(`${p}.self_attn.lambda_q2`, [headDim], { mean: 0, std: 0.1 }),
      t(`${p}.self_attn.lambda_k2`, [headDim], { mean: 0, std: 0.1 }),
      t(`${p}.self_attn.subln.weight`, [2 * headDim], norm),
      t(`${p}.mlp.gate_proj.weight`, [I, D], { mean: 0, std: proj }),
      t(`${p}.mlp.up_proj.weight`, [I, D], { mean: 0, std: proj }),
      t(`${p}.mlp.down_proj.weight`, [D, I], { mean: 0, std: residual / Math.sqrt(I) }),
      // PolyNorm: w0 pairs with the cube, w2 with the identity.
      t(`${p}.mlp.act_fn.weight`, [3], { mean: [0.3, 0.3, 0.4], std: 0.02 }),
      t(`${p}.mlp.act_fn.bias`, [1], { mean: 0, std: 0.02 }),
      t(`${p}.input_layernorm.weight`, [D], norm),
      t(`${p}.post_attention_layernorm.weight`, [D], norm),
    );
  }
  out.push(t('model.norm.weight', [D], norm));
  return out;
}

/** Total parameter count (2,597,218,432 for the real Motif-2.6B dimensions). */
export function parameterCount(tensors: readonly TensorSpec[]): number {
  return tensors.reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0);
}
