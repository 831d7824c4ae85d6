/**
 * Motif model configuration: `config.json` (+ `generation_config.json`) validated with zod.
 * Every hyper-parameter the forward pass uses is read from the file (SPEC §1: the published values
 * are partly unverified, so nothing numeric is hard-coded); the few keys that may be absent get the
 * defaults the reference ports use. Keys keep their `config.json` spelling so the object reads like
 * the file it came from.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';

const positiveInt = z.number().int().positive();
const tokenIds = z.union([z.number().int().min(0), z.array(z.number().int().min(0))]).nullish();

/** The raw keys of `config.json` the native engine understands; unknown keys are kept and ignored. */
export const MotifConfigFile = z.looseObject({
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.optional(),
  head_dim: positiveInt.nullish(),
  vocab_size: positiveInt,
  max_position_embeddings: positiveInt,
  // vLLM falls back to 10000 when the key is missing (SPEC §1 rope_theta).
  rope_theta: z.number().positive().nullish(),
  rope_scaling: z.unknown().optional(),
  rms_norm_eps: z.number().positive().max(1).nullish(),
  attn_rms_norm_eps: z.number().positive().max(1).nullish(),
  hidden_act: z.string().optional(),
  tie_word_embeddings: z.boolean().optional(),
  eos_token_id: tokenIds,
  bos_token_id: z.number().int().min(0).nullish(),
  pad_token_id: z.number().int().min(0).nullish(),
});

/** `generation_config.json`: only the stop ids matter to the engine. */
export const GenerationConfigFile = z.looseObject({
  eos_token_id: tokenIds,
});

/** A validated, normalised Motif configuration (every optional key resolved). */
export interface MotifConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  /** Physical attention heads (two per differential head). */
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly head_dim: number;
  readonly vocab_size: number;
  readonly max_position_embeddings: number;
  readonly rope_theta: number;
  readonly rms_norm_eps: number;
  readonly attn_rms_norm_eps: number;
  readonly hidden_act: 'poly_norm';
  readonly tie_word_embeddings: boolean;
  readonly bos_token_id: number | null;
  readonly pad_token_id: number | null;
  /** generation_config.eos_token_id (in its order) ∪ config.eos_token_id, deduplicated. */
  readonly eos_token_ids: readonly number[];
}

const DEFAULT_RMS_NORM_EPS = 1e-6;
// Differential-Transformer default for the sub-layer norm (SPEC §1 attn_rms_norm_eps).
const DEFAULT_ATTN_RMS_NORM_EPS = 1e-5;
const DEFAULT_ROPE_THETA = 10_000;

function configError(file: string, message: string, param: string | null = null): ApiError {
  return new ApiError('engine_unavailable', `Invalid ${file}: ${message}`, { param });
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const issue = res.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  throw configError(file, `${path ? `'${path}': ` : ''}${issue?.message ?? 'invalid'}`, path);
}

function idList(v: number | number[] | null | undefined): number[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Validate `config.json` (and optionally `generation_config.json`, both already JSON-parsed) into a
 * MotifConfig. Throws ApiError('engine_unavailable') naming the offending key for anything the
 * native forward pass cannot run: GQA (n_rep ≠ 1), an activation other than PolyNorm, rope_scaling,
 * an odd head count, or a hidden size that does not split into heads.
 */
export function parseMotifConfig(configJson: unknown, generationConfigJson?: unknown): MotifConfig {
  const raw = parseWith(MotifConfigFile, configJson, 'config.json');
  const gen = generationConfigJson === undefined ? undefined : parseWith(GenerationConfigFile, generationConfigJson, 'generation_config.json');

  const hiddenAct = raw.hidden_act ?? 'poly_norm';
  if (hiddenAct !== 'poly_norm') {
    throw configError('config.json', `hidden_act must be 'poly_norm' for Motif, got '${hiddenAct}'`, 'hidden_act');
  }
  // A non-null rope_scaling changes the RoPE frequencies; running without it would be silently wrong.
  if (raw.rope_scaling !== null && raw.rope_scaling !== undefined) {
    throw configError('config.json', 'rope_scaling is not supported by the native engine (expected null)', 'rope_scaling');
  }
  const heads = raw.num_attention_heads;
  const kvHeads = raw.num_key_value_heads ?? heads;
  // The HF model halves both head counts into differential heads; with fewer KV heads the HF and
  // vLLM orders of "repeat KV" and "split signal/noise" disagree (SPEC §2.10 item 6), so refuse.
  if (kvHeads !== heads) {
    throw configError(
      'config.json',
      `num_key_value_heads (${kvHeads}) must equal num_attention_heads (${heads}); n_rep = ${heads / kvHeads} is not supported`,
      'num_key_value_heads',
    );
  }
  if (heads % 2 !== 0) {
    throw configError('config.json', `num_attention_heads must be even (differential heads pair physical heads), got ${heads}`, 'num_attention_heads');
  }
  let headDim = raw.head_dim ?? undefined;
  if (headDim === undefined) {
    if (raw.hidden_size % heads !== 0) {
      throw configError('config.json', `hidden_size ${raw.hidden_size} is not divisible by num_attention_heads ${heads} and head_dim is absent`, 'head_dim');
    }
    headDim = raw.hidden_size / heads;
  }
  if (headDim % 2 !== 0) throw configError('config.json', `head_dim must be even for rotary embeddings, got ${headDim}`, 'head_dim');

  const eos = [...new Set([...idList(gen?.eos_token_id), ...idList(raw.eos_token_id)])];
  for (const id of eos) {
    if (id >= raw.vocab_size) throw configError('config.json', `eos token id ${id} is outside the vocabulary (${raw.vocab_size})`, 'eos_token_id');
  }

  return {
    hidden_size: raw.hidden_size,
    intermediate_size: raw.intermediate_size,
    num_hidden_layers: raw.num_hidden_layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    vocab_size: raw.vocab_size,
    max_position_embeddings: raw.max_position_embeddings,
    rope_theta: raw.rope_theta ?? DEFAULT_ROPE_THETA,
    rms_norm_eps: raw.rms_norm_eps ?? DEFAULT_RMS_NORM_EPS,
    attn_rms_norm_eps: raw.attn_rms_norm_eps ?? DEFAULT_ATTN_RMS_NORM_EPS,
    hidden_act: 'poly_norm',
    tie_word_embeddings: raw.tie_word_embeddings ?? true,
    bos_token_id: raw.bos_token_id ?? null,
    pad_token_id: raw.pad_token_id ?? null,
    eos_token_ids: eos,
  };
}
