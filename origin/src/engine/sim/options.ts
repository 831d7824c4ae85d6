/**
 * The simulated engine's options: one zod schema, so a bad `MOTIF_SIM` fails at startup with a
 * message naming the field. `SimTuning` is what an operator sets (latency model, speed, faults);
 * `SimEngineOptions` adds what the origin passes from its own config (model id, revision, limits).
 * Defaults are shaped after one MI250 GCD serving a 2.6B model (README "Latency model").
 */
import { z } from 'zod';
import { fromZodError } from '#shared/errors.ts';

const rate = z.number().min(0).max(1);
const nonNegative = z.number().min(0).max(1_000_000);

/** The operator-facing part (the `MOTIF_SIM` JSON object). Unknown keys are refused. */
export const SimTuningSchema = z.strictObject({
  /** Time divisor: 10 runs every step ten times faster than the model it imitates. */
  speed: z.number().positive().max(1_000_000).default(1),
  /** Prefill cost per prompt token not served from the prefix cache, ms. */
  prefillMsPerToken: nonNegative.default(0.05),
  /** Fixed cost of one decode step (one token for every running sequence), ms. */
  decodeStepMs: nonNegative.default(12),
  /** Extra decode-step cost per running sequence, ms. */
  decodeMsPerSequence: nonNegative.default(0.4),
  /** Extra decode-step cost per 1,000 tokens of context over all running sequences, ms (attention reads). */
  decodeMsPer1kContext: nonNegative.default(0.15),
  /** Largest prompt + completion, tokens. */
  maxContextTokens: z.number().int().min(32).max(1_048_576).default(4096),
  /** Prefix LRU capacity in 16-token blocks (KV memory idle prompts may stay in). */
  prefixCacheBlocks: z.number().int().min(0).max(10_000_000).default(8192),
  /** Mean natural completion length when max_tokens does not cut it first (drawn in [1, 2×mean]). */
  meanOutputTokens: z.number().int().min(1).max(1_000_000).default(128),
  /** Seeds the fault dice, so a test's faults repeat; absent = random. */
  faultSeed: z.number().int().optional(),
  /** Latency multiplier on top of `speed` (a sick replica). */
  slow: z.number().min(1).max(10_000).default(1),
  /** Share of requests refused with a 500 before their first event. */
  errorRate: rate.default(0),
  /** Share of requests refused as `overloaded` (503, retry-after) before their first event. */
  refuseRate: rate.default(0),
  /** Every stream throws after this many completion tokens (the origin sends an SSE error event). */
  dieAfterTokens: z.number().int().min(0).optional(),
});
export type SimTuning = z.input<typeof SimTuningSchema>;

/** Everything the engine takes: tuning plus what the origin passes from its own config. */
export const SimEngineOptionsSchema = SimTuningSchema.extend({
  modelId: z.string().min(1).default('motif-2.6b'),
  revision: z.string().min(1).default('sim'),
  maxRunning: z.number().int().min(1).max(4096).default(8),
  maxQueue: z.number().int().min(0).max(1_000_000).default(64),
  /** KV budget of the running set, tokens (rounded down to whole 16-token blocks). ~52 GB of KV on a GCD. */
  kvBudgetTokens: z.number().int().min(16).default(131_072),
  /** The origin passes its weights dir to every backend; the sim reads nothing from it. */
  modelDir: z.string().optional(),
}).refine((o) => Math.floor(o.kvBudgetTokens / 16) * 16 >= o.maxContextTokens, {
  message: 'kvBudgetTokens must hold at least one full context (maxContextTokens) in whole 16-token blocks',
  path: ['kvBudgetTokens'],
});
export type SimEngineOptions = z.input<typeof SimEngineOptionsSchema>;
export type ResolvedSimOptions = z.infer<typeof SimEngineOptionsSchema>;

/** Validate engine options; throws ApiError naming the bad field. */
export function parseSimOptions(options: unknown): ResolvedSimOptions {
  const r = SimEngineOptionsSchema.safeParse(options ?? {});
  if (!r.success) throw fromZodError(r.error);
  return r.data;
}

/**
 * Parse the `MOTIF_SIM` JSON text into tuning (defaults left for the engine to apply). Throws
 * Error with a one-line reason: not JSON, not an object, or a field out of range.
 */
export function parseSimTuningJson(text: string): SimTuning {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('not JSON: expected an object such as {"speed":10,"errorRate":0.1}');
  }
  const r = SimTuningSchema.safeParse(value);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; '));
  // Keep only what was given: the engine applies defaults, so the config says what the operator set.
  return value as SimTuning;
}
