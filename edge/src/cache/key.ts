/**
 * The response cache's key (edge/src/cache/README.md). Pure: which requests may be cached, and a
 * canonical form of every field that changes the generated answer, so that two requests asking
 * for the same answer (defaults spelled out or left out, key order, a one-element prompt list)
 * share one entry and any difference in an output-changing field gives another.
 *
 * The key is sha256 over tenant + endpoint + model + the weights revision(s) serving it + the
 * canonical request. The tenant is always part of it: an entry is never shared across tenants.
 */
import type { Digests } from '#shared/digests.ts';
import { type ChatCompletionRequest, type CompletionRequest, messageText, requestedMaxTokens, stopList, toolRequest } from '#shared/openai.ts';

export type CacheEndpoint = 'chat.completions' | 'completions';
export type CacheableRequest = ChatCompletionRequest | CompletionRequest;

/**
 * Sampling defaults in API terms: a field left out (or null) means this value, so spelling the
 * default out must not change the key. They mirror the origin engine's defaults (temperature 1,
 * top_p 1, top_k 0 = off, min_p 0, penalties 0, repetition 1); if those change, change these.
 */
export const SAMPLING_DEFAULTS = {
  temperature: 1,
  top_p: 1,
  top_k: 0,
  min_p: 0,
  presence_penalty: 0,
  frequency_penalty: 0,
  repetition_penalty: 1,
} as const;

/**
 * Fields that do not change the answer, left out of the key: how it is delivered (`stream`,
 * `stream_options`), who asks or why (`user`, `metadata`, `store`, `service_tier`,
 * `prompt_cache_key`, `safety_identifier`), and fields the schema only accepts at the one value
 * that changes nothing (`n` = 1 and the refused-unless-empty ones). Tools count in their
 * normalised form (`toolRequest`: `none` and no tools are the same request).
 */
export const OUTPUT_NEUTRAL_FIELDS = [
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'service_tier',
  'prompt_cache_key',
  'safety_identifier',
  'n',
  'logit_bias',
  'prediction',
  'functions',
  'function_call',
  'audio',
  'modalities',
  'reasoning_effort',
  'verbosity',
  'web_search_options',
  'best_of',
] as const;

/**
 * A request may be cached only when its answer is a function of its fields: greedy decoding
 * (`temperature` 0) or sampling under an explicit `seed`.
 */
export function isDeterministic(req: CacheableRequest): boolean {
  return req.temperature === 0 || (req.seed !== undefined && req.seed !== null);
}

const orDefault = <T>(v: T | null | undefined, d: T): T => (v === null || v === undefined ? d : v);

/** Every output-changing field, defaults applied, in a fixed shape (keys are sorted when serialised). */
export function canonicalRequest(endpoint: CacheEndpoint, req: CacheableRequest): Record<string, unknown> {
  const d = SAMPLING_DEFAULTS;
  const common: Record<string, unknown> = {
    model: req.model,
    max_tokens: requestedMaxTokens(req) ?? null,
    temperature: orDefault(req.temperature, d.temperature),
    top_p: orDefault(req.top_p, d.top_p),
    top_k: orDefault(req.top_k, d.top_k),
    min_p: orDefault(req.min_p, d.min_p),
    presence_penalty: orDefault(req.presence_penalty, d.presence_penalty),
    frequency_penalty: orDefault(req.frequency_penalty, d.frequency_penalty),
    repetition_penalty: orDefault(req.repetition_penalty, d.repetition_penalty),
    seed: orDefault(req.seed, null),
    stop: stopList(req.stop),
    response_format: req.response_format ?? { type: 'text' },
    ignore_eos: req.ignore_eos === true,
  };
  if (endpoint === 'chat.completions' && 'messages' in req) {
    const logprobs = req.logprobs === true;
    return {
      ...common,
      // Text parts are joined as the origin joins them: parts and a string of the same text are one prompt.
      messages: req.messages.map((m) => ({
        role: m.role,
        content: messageText(m),
        name: m.name ?? null,
        tool_call_id: m.tool_call_id ?? null,
        tool_calls: m.tool_calls?.length ? m.tool_calls : null,
      })),
      tools: toolRequest(req) ?? null,
      logprobs,
      top_logprobs: logprobs ? orDefault(req.top_logprobs, 0) : null,
    };
  }
  const c = req as CompletionRequest;
  return {
    ...common,
    prompt: Array.isArray(c.prompt) && typeof c.prompt[0] === 'string' ? c.prompt[0] : c.prompt,
    logprobs: orDefault(c.logprobs, null),
    echo: c.echo === true,
    suffix: orDefault(c.suffix, null),
  };
}

/** JSON with object keys sorted at every level: one text for one value, whatever the key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface CacheKeyInput {
  tenantId: string;
  endpoint: CacheEndpoint;
  /** The weights revision(s) of the replicas that would serve the request (any order). */
  revisions: readonly string[];
  request: CacheableRequest;
}

/** The entry's key: hex sha256 of the tenant, endpoint, revisions and canonical request. */
export async function cacheKey(input: CacheKeyInput, digests: Digests): Promise<string> {
  const revisions = [...new Set(input.revisions)].sort();
  const text = stableJson({
    v: 1,
    tenant: input.tenantId,
    endpoint: input.endpoint,
    revisions,
    request: canonicalRequest(input.endpoint, input.request),
  });
  return await digests.sha256Hex(text);
}
