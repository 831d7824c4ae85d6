/**
 * The vLLM launch recipe (`infra/engines/vllm/recipe.json`): the release, container image,
 * environment and extra `vllm serve` flags that make Motif run on one MI250 GCD. It is
 * configuration, not code, because none of it can be verified without the hardware. This module
 * validates a recipe and turns it, with what the origin decides itself (snapshot dir, port, model
 * id, batch size, GPU), into the child process's argv and environment. Pure.
 */
import { z } from 'zod';
import { fromZodError } from '#shared/errors.ts';

/** Flags the supervisor sets itself: a recipe that sets them would fight the origin. */
export const RESERVED_FLAGS = ['--host', '--port', '--served-model-name', '--max-num-seqs', '--model'] as const;

const flag = z.string().min(1).max(512);

export const VllmRecipeSchema = z.strictObject({
  /** Where the values come from (links, issue numbers): read by people, ignored by the origin. */
  sources: z.array(z.string()).default([]),
  /** vLLM release the flags are written for (Motif's model code is in upstream vLLM up to 0.10.2). */
  version: z.string().min(1),
  /** Container image an appliance or pod runs the origin in (ROCm + this vLLM). */
  image: z.string().min(1),
  /** Environment of every `vllm serve` child (e.g. `VLLM_ROCM_USE_AITER=0` on gfx90a). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
  /** Extra arguments after `serve <dir>`, in order. */
  flags: z
    .array(flag)
    .default([])
    .refine((flags) => !flags.some((f) => RESERVED_FLAGS.some((r) => f === r || f.startsWith(`${r}=`))), {
      message: `must not set ${RESERVED_FLAGS.join(', ')}: the origin sets them per replica`,
    }),
  /** How long one start may take until `/health` answers and the warm-up generation ran. */
  startupTimeoutSeconds: z.number().int().min(1).max(7_200).default(900),
});
export type VllmRecipe = z.infer<typeof VllmRecipeSchema>;

/** Parse a recipe (already JSON-decoded); throws ApiError naming the bad field. */
export function parseVllmRecipe(value: unknown): VllmRecipe {
  const r = VllmRecipeSchema.safeParse(value);
  if (!r.success) throw fromZodError(r.error);
  return r.data;
}

/** What the origin decides for one server. */
export interface ServeTarget {
  /** The verified snapshot (HF-style model dir) to serve. */
  modelDir: string;
  host: string;
  port: number;
  /** The public model id requests name. */
  modelId: string;
  /** Most sequences vLLM runs at once (the origin's admission lets this many through). */
  maxRunning: number;
  /** The GPUs (one GCD on MI250) this replica owns, physical indices such as `1`; undefined = leave the device variables alone. */
  gpu: string | undefined;
}

export interface ServeCommand {
  args: string[];
  /** Variables to set on top of the origin's own environment. */
  env: Record<string, string>;
}

/**
 * `vllm serve <dir> --host … --port … --served-model-name … --max-num-seqs … <recipe flags>`, and
 * its environment: the recipe's, then the GPU variables (which the recipe cannot override).
 */
export function serveCommand(recipe: VllmRecipe, t: ServeTarget): ServeCommand {
  const args = [
    'serve',
    t.modelDir,
    '--host',
    t.host,
    '--port',
    String(t.port),
    '--served-model-name',
    t.modelId,
    '--max-num-seqs',
    String(t.maxRunning),
    ...recipe.flags,
  ];
  // ROCR_VISIBLE_DEVICES isolates at the runtime below HIP (AMD's recommendation on Linux), so no
  // library can touch the other GCD. ROCr applies it first and renumbers what it leaves from 0;
  // HIP_VISIBLE_DEVICES then indexes into that, so it must name 0…n-1, not the physical ids.
  const gpuEnv: Record<string, string> =
    t.gpu === undefined
      ? {}
      : {
          ROCR_VISIBLE_DEVICES: t.gpu,
          HIP_VISIBLE_DEVICES: t.gpu
            .split(',')
            .map((_, i) => i)
            .join(','),
        };
  return { args, env: { ...recipe.env, ...gpuEnv } };
}
