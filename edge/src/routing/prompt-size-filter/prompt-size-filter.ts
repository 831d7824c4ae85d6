/**
 * `prompt-size-filter`: keep replicas whose context could still hold the prompt, judged by its
 * text's UTF-8 length against the bound each replica advertises (protocol.ts `PromptByteBounds`).
 * When none could, the request is refused here with the error the origin would give
 * (`context_length_exceeded`), so a megabyte prompt never reaches an origin.
 */
import { ApiError } from '#shared/errors.ts';
import { utf8LengthCapped } from '#shared/prompt-size.ts';
import type { Candidate, Filter } from '../types.ts';

/** Create the filter. */
export function promptSizeFilter(): Filter {
  return {
    type: 'prompt-size-filter',
    filter(req, cs) {
      const prompt = req.prompt;
      if (!prompt) return cs;
      const bounds = cs.map((c) => c.maxPromptBytes?.[prompt.field]);
      const known = bounds.filter((b) => b !== undefined);
      if (known.length === 0) return cs;
      // Measured once, only as far as the largest bound: past it the exact size does not matter.
      const bytes = utf8LengthCapped(prompt.parts, Math.max(...known));
      return cs.filter((_, i) => bounds[i] === undefined || bytes <= bounds[i]!);
    },
    refusal(req, removed) {
      const field = req.prompt?.field ?? 'prompt';
      const fits = Math.max(0, ...removed.map((c: Candidate) => c.maxPromptBytes?.[field] ?? 0));
      return new ApiError(
        'context_length_exceeded',
        `This model's maximum context length cannot hold this prompt: its text is over ${fits} bytes, the most any replica of \`${req.model}\` can fit.`,
        { param: field },
      );
    },
  };
}
