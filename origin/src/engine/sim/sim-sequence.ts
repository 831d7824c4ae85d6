/**
 * One request inside the simulator: its prompt's counts and hashes, the words it will say and
 * when it ends (stop string → 'stop', its natural length → 'stop', the token budget → 'length',
 * abort → 'abort', `dieAfterTokens` → the stream throws), and its Engine events. The step loop in
 * sim-engine.ts only calls `admit` and `step`.
 */
import { ApiError } from '#shared/errors.ts';
import { EventChannel } from '../native/native-engine-request.ts';
import type { EngineEvent, FinishReason, GenerateRequest } from '../types.ts';
import { blocksFor } from './latency-model.ts';
import type { SimPrompt } from './prompt-tokens.ts';
import { findStop, TextGenerator } from './text-generator.ts';

export interface SequenceLimits {
  /** Completion budget (max_tokens, capped by the context). */
  maxNew: number;
  meanOutputTokens: number;
  dieAfterTokens: number | undefined;
}

export class SimSequence {
  readonly events = new EventChannel<EngineEvent>();
  readonly #gen: TextGenerator;
  readonly #stopLimit: number;
  readonly #stopReason: FinishReason;
  readonly #longestStop: number;
  // The end of the text sent so far, as long as the longest stop string (enough to find one that straddles).
  #tail = '';
  generated = 0;
  cachedTokens = 0;
  done = false;

  constructor(
    readonly req: GenerateRequest,
    readonly prompt: SimPrompt,
    readonly signal: AbortSignal,
    private readonly limits: SequenceLimits,
  ) {
    this.#gen = new TextGenerator({
      temperature: req.sampling.temperature,
      ...(req.sampling.seed !== undefined ? { seed: req.sampling.seed } : {}),
      promptDigest: prompt.digest,
      meanOutputTokens: limits.meanOutputTokens,
    });
    const natural = req.ignoreEos ? Infinity : this.#gen.naturalLength;
    this.#stopLimit = Math.min(limits.maxNew, natural);
    this.#stopReason = natural < limits.maxNew ? 'stop' : 'length';
    this.#longestStop = Math.max(0, ...req.stop.map((s) => s.length));
  }

  /** KV blocks this sequence holds while running: its prompt plus every token it will generate. */
  get blocks(): number {
    return blocksFor(this.prompt.tokens + this.#stopLimit);
  }

  /** Completion tokens still to come (for retry-after estimates). */
  get remaining(): number {
    return this.#stopLimit - this.generated;
  }

  /** Admitted into the batch with `cachedTokens` of its prompt found in the prefix cache. */
  admit(cachedTokens: number): void {
    this.cachedTokens = cachedTokens;
    this.events.push({ type: 'start', promptTokens: this.prompt.tokens, cachedTokens });
  }

  /** One decode step: a token, or the end. Returns the tokens generated (0 or 1). */
  step(): number {
    if (this.done) return 0;
    if (this.signal.aborted) {
      this.finish('abort');
      return 0;
    }
    const die = this.limits.dieAfterTokens;
    if (die !== undefined && this.generated >= die) {
      this.done = true;
      this.events.fail(new ApiError('internal_error', `Simulated engine fault: the stream died after ${die} tokens (dieAfterTokens).`));
      return 0;
    }
    const token = this.#gen.next();
    this.generated++;
    const stopAt = this.#longestStop > 0 ? findStop(this.#tail, token.text, this.req.stop) : undefined;
    const text = stopAt === undefined ? token.text : token.text.slice(0, stopAt);
    this.events.push({ type: 'delta', text, tokenIds: [token.id] });
    if (this.#longestStop > 0) this.#tail = (this.#tail + text).slice(-this.#longestStop);
    if (stopAt !== undefined) this.finish('stop');
    else if (this.generated >= this.#stopLimit) this.finish(this.#stopReason);
    return 1;
  }

  finish(reason: FinishReason): void {
    if (this.done) return;
    this.done = true;
    this.events.push({
      type: 'finish',
      reason,
      usage: { promptTokens: this.prompt.tokens, completionTokens: this.generated, cachedTokens: this.cachedTokens },
    });
    this.events.end();
  }

  fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.events.fail(err);
  }
}
