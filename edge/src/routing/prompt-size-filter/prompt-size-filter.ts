/**
 * `prompt-size-filter`: keep replicas whose context could still hold the prompt, judged by its
 * text's UTF-8 length against the bound each replica advertises (protocol.ts `PromptByteBounds`).
 * When none could, the request is refused here with the error the origin would give
 * (`context_length_exceeded`), so a megabyte prompt never reaches an origin.
 */
import { ApiError } from '#shared/errors.ts';
import type { Candidate, Filter, RouteRequest } from '../types.ts';

/** Whether `c` might fit `req`'s prompt: always, unless it advertises a bound the prompt exceeds. */
export function mayFit(req: RouteRequest, c: Candidate): boolean {
  if (!req.prompt) return true;
  const bound = c.maxPromptBytes?.[req.prompt.field];
  return bound === undefined || req.prompt.bytes <= bound;
}

/** Create the filter. */
export function promptSizeFilter(): Filter {
  return {
    type: 'prompt-size-filter',
    filter: (req, cs) => cs.filter((c) => mayFit(req, c)),
    refusal(req, removed) {
      const field = req.prompt?.field ?? 'prompt';
      const fits = Math.max(0, ...removed.map((c) => c.maxPromptBytes?.[field] ?? 0));
      return new ApiError(
        'context_length_exceeded',
        `This model's maximum context length cannot hold this prompt: its text is ${req.prompt?.bytes ?? 0} bytes, and no replica of \`${req.model}\` fits more than ${fits}.`,
        { param: field },
      );
    },
  };
}
