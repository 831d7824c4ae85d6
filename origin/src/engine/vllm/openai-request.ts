/**
 * An engine request → the request vLLM's OpenAI server takes. Chats go to `/v1/chat/completions`
 * (vLLM renders the model's chat template), text and token-id prompts to `/v1/completions`. Always
 * streamed, with usage on every chunk (`continuous_usage_stats`), so prompt and completion counts
 * are known while the request runs and exact when it ends, whether the client asked for a stream
 * or not: the origin renders JSON or SSE itself. Pure.
 */
import type { GenerateRequest } from '../types.ts';

export interface VllmRequest {
  path: '/v1/chat/completions' | '/v1/completions';
  body: Record<string, unknown>;
}

/** Map `req` for a server that serves `model` (its `--served-model-name`). */
export function toVllmRequest(req: GenerateRequest, model: string): VllmRequest {
  const s = req.sampling;
  const body: Record<string, unknown> = {
    model,
    stream: true,
    stream_options: { include_usage: true, continuous_usage_stats: true },
    // Ids make the origin's provisional count exact; releases that lack the field ignore it.
    return_token_ids: true,
    temperature: s.temperature,
    top_p: s.topP,
    presence_penalty: s.presencePenalty,
    frequency_penalty: s.frequencyPenalty,
  };
  // "Off" is the server's default for these; older releases reject top_k 0, so it is left out.
  if (s.topK > 0) body.top_k = s.topK;
  if (s.minP > 0) body.min_p = s.minP;
  if (s.repetitionPenalty !== 1) body.repetition_penalty = s.repetitionPenalty;
  if (s.seed !== undefined) body.seed = s.seed;
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.stop.length > 0) body.stop = req.stop;
  if (req.ignoreEos) body.ignore_eos = true;
  const p = req.prompt;
  if (p.kind === 'chat') {
    body.messages = p.messages;
    // vLLM renders the tools with the model's template and parses calls itself (its tool-call
    // flags, infra/engines/vllm/README.md); openai-stream.ts writes them back in the convention.
    if (req.tools) {
      body.tools = req.tools.tools;
      const choice = req.tools.choice;
      body.tool_choice = typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice;
      body.parallel_tool_calls = req.tools.parallel;
    }
    if (req.topLogprobs !== undefined) {
      body.logprobs = true;
      body.top_logprobs = req.topLogprobs;
    }
    return { path: '/v1/chat/completions', body };
  }
  body.prompt = p.kind === 'text' ? p.text : p.ids;
  if (req.topLogprobs !== undefined) body.logprobs = req.topLogprobs;
  return { path: '/v1/completions', body };
}
