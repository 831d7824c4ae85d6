/**
 * Builds the one usage record of a request from the engine's events. The origin is the billing
 * authority (DESIGN §1), so token counts come from the engine's `start` and `finish` events; if a
 * request fails before `finish`, the generated tokens seen so far are counted from the deltas.
 *
 * Outcomes:
 * - `finish`: the engine ended the sequence itself (EOS, stop string, or the token budget);
 * - `stop`:   the origin stopped it (the `x-deadline` passed, or the engine cut it short);
 * - `abort`:  the client went away;
 * - `error`:  the request failed after the engine started it (an engine error mid-way);
 * - `refused`: the request ended before the engine started it (busy, draining, bad request,
 *   deadline already passed, the engine's own refusal): nothing generated, not a billed request.
 */
import { type UsageOutcome, UsageRecord } from '#shared/usage.ts';
import type { EngineEvent } from '../engine/types.ts';
import type { UsageMeta } from '../ports.ts';

export interface UsageTracker {
  /** Feed every engine event, in order. */
  observe(ev: EngineEvent): void;
  /** Exact usage so far (prompt, cached, completion). */
  readonly tokens: { prompt: number; cached: number; completion: number };
  /** When the request started (epoch ms), as its record will say. */
  readonly startedAt: number;
  /** Whether the engine has started the request (any of its events was seen). */
  readonly engineStarted: boolean;
  /** The record for this outcome; `null` after the first call, so a request bills once. */
  finalize(outcome: UsageOutcome): UsageRecord | null;
}

/** Start tracking one request; `now` is the clock (epoch ms). */
export function createUsageTracker(meta: UsageMeta, now: () => number): UsageTracker {
  const startedAt = now();
  const tokens = { prompt: 0, cached: 0, completion: 0 };
  let finished = false;
  let done = false;
  let engineStarted = false;
  return {
    tokens,
    startedAt,
    get engineStarted() {
      return engineStarted;
    },
    observe(ev) {
      engineStarted = true;
      if (ev.type === 'start') {
        tokens.prompt = ev.promptTokens;
        tokens.cached = ev.cachedTokens;
      } else if (ev.type === 'delta') {
        // Provisional: replaced by the engine's exact count when `finish` arrives.
        if (!finished) tokens.completion += ev.tokenIds.length;
      } else {
        finished = true;
        tokens.prompt = ev.usage.promptTokens;
        tokens.cached = ev.usage.cachedTokens;
        tokens.completion = ev.usage.completionTokens;
      }
    },
    finalize(outcome) {
      if (done) return null;
      done = true;
      return UsageRecord.parse({
        request_id: meta.requestId,
        replica_id: meta.replicaId,
        tenant_id: meta.tenantId,
        key_id: meta.keyId,
        model: meta.model,
        revision: meta.revision,
        endpoint: meta.endpoint,
        prompt_tokens: tokens.prompt,
        cached_tokens: Math.min(tokens.cached, tokens.prompt),
        completion_tokens: tokens.completion,
        outcome,
        started_at: startedAt,
        finished_at: now(),
      });
    },
  };
}
