/**
 * Structured output for one engine: a `response_format` (or the tool calls of a request, see
 * `toolCallFormat`) compiled once into a `JsonGrammar`
 * (grammar nodes + per-state mask cache, shared by every request with the same format), and one
 * `JsonConstraint` per sequence holding its own recognizer state. Each step the constraint masks
 * the logits to the tokens that keep the document valid; end-of-sequence is allowed only once the
 * document is complete (or in the free text around tool calls), and the sequence ends by itself
 * when nothing may follow.
 */
import { ApiError } from '#shared/errors.ts';
import { ANY_OBJECT, compileJsonSchema, type SchemaNode, UnsupportedSchemaError } from '#shared/json-schema-subset.ts';
import { autoCallSchema, forcedToolSchema, type ToolRequest } from '#shared/openai-tools.ts';
import type { StructuredFormat } from '../../types.ts';
import { grammarNodes } from './grammar-nodes.ts';
import { GrammarVocabulary } from './grammar-vocabulary.ts';
import { canContinue, initialState, isComplete, type MachineState, stateKey, stepAll } from './json-machine.ts';
import { inFreeText, taggedCallsState } from './tagged-calls.ts';
import { allowedTokens, applyMask, type TokenVocabulary, type VocabIndex } from './token-mask.ts';

/**
 * Masks kept per grammar (each is vocabulary/8 bytes: 27 KB for Motif's 219,520 tokens), and
 * formats kept per engine: at most 16 × 64 × 27 KB = 28 MB of masks.
 */
const MASKS_PER_GRAMMAR = 64;
const GRAMMARS_PER_ENGINE = 16;

/**
 * What the engine constrains: a `response_format`, or free text whose `<tool_call>` blocks each
 * hold one call following `schema` (`tool_choice: auto` with strict functions).
 */
export type GrammarFormat = StructuredFormat | { type: 'tagged_calls'; schema: Record<string, unknown>; parallel: boolean };

/** A compiled format over one vocabulary. */
export class JsonGrammar {
  private readonly masks = new Map<string, Uint32Array>();
  /** Free-text masks: at most one per matched length of the opening tag, never evicted. */
  private readonly freeTextMasks = new Map<string, Uint32Array>();
  private readonly tagged: boolean;
  readonly start: MachineState;

  constructor(
    format: GrammarFormat,
    private readonly on: GrammarVocabulary,
  ) {
    const nodes = grammarNodes(compileFormat(format));
    this.tagged = format.type === 'tagged_calls';
    this.start = format.type === 'tagged_calls' ? taggedCallsState(nodes, format.parallel) : initialState(nodes);
  }

  /** Allowed tokens in `state`: continuations, plus eos once the document is complete. */
  mask(state: MachineState): Uint32Array {
    const key = stateKey(state);
    if (this.tagged && inFreeText(state)) return this.freeTextMaskOf(key, state);
    let mask = this.masks.get(key);
    if (mask) {
      // Refresh its place: the oldest-used mask is the one evicted.
      this.masks.delete(key);
      this.masks.set(key, mask);
      return mask;
    }
    const { index, eosIds, rowSize } = this.on;
    mask = allowedTokens(index, state, Math.ceil(rowSize / 32));
    if (isComplete(state)) for (const id of eosIds) mask[id >>> 5]! |= 1 << (id & 31);
    if (this.masks.size >= MASKS_PER_GRAMMAR) this.masks.delete(this.masks.keys().next().value!);
    this.masks.set(key, mask);
    return mask;
  }

  // Free text may always end: eos is allowed in each of its states.
  private freeTextMaskOf(key: string, state: MachineState): Uint32Array {
    let mask = this.freeTextMasks.get(key);
    if (!mask) {
      mask = this.on.freeTextMask(state);
      for (const id of this.on.eosIds) mask[id >>> 5]! |= 1 << (id & 31);
      this.freeTextMasks.set(key, mask);
    }
    return mask;
  }
}

/**
 * The format tools put the answer under: a forced call (`required` or a named function) is a
 * JSON document; under `auto` with a strict function, each `<tool_call>` block holds one call;
 * otherwise nothing (undefined).
 */
export function toolCallFormat(tools: ToolRequest | undefined): GrammarFormat | undefined {
  if (!tools) return undefined;
  const forced = forcedToolSchema(tools);
  if (forced) return { type: 'json_schema', schema: forced };
  const call = autoCallSchema(tools);
  return call ? { type: 'tagged_calls', schema: call, parallel: tools.parallel } : undefined;
}

// The server checked the schema already; a direct engine caller gets the same 400.
function compileFormat(format: GrammarFormat): SchemaNode {
  if (format.type === 'json_object') return ANY_OBJECT;
  try {
    return compileJsonSchema(format.schema);
  } catch (err) {
    const param = format.type === 'tagged_calls' ? 'tools' : 'response_format';
    if (err instanceof UnsupportedSchemaError) throw new ApiError('invalid_request_error', err.message, { param, cause: err });
    throw err;
  }
}

/** One sequence's progress through a grammar. */
export class JsonConstraint {
  private state: MachineState;

  constructor(
    private readonly grammar: JsonGrammar,
    private readonly vocab: TokenVocabulary,
  ) {
    this.state = grammar.start;
  }

  /** Mask `logits` (in place) to the tokens allowed next. */
  apply(logits: Float32Array): void {
    applyMask(logits, this.grammar.mask(this.state));
  }

  /** Advance past token `id` (one `apply` allowed it). */
  accept(id: number): void {
    // A special token never becomes text (only free text allows one).
    if (!this.vocab.isSpecial(id)) this.state = stepAll(this.state, this.vocab.tokenBytes(id));
  }

  /** Outside every `<tool_call>` block of a `tagged_calls` format (`ignore_eos` may go on there). */
  get inFreeText(): boolean {
    return inFreeText(this.state);
  }

  /** The document is complete and nothing may follow: the sequence is done. */
  get finished(): boolean {
    return !canContinue(this.state);
  }
}

/** Compiled grammars of one engine, keyed by the format's JSON (recently used kept). */
export class GrammarCache {
  private readonly grammars = new Map<string, JsonGrammar>();
  private readonly on: GrammarVocabulary;

  /** See GrammarVocabulary: the index is built now unless given. */
  constructor(vocab: TokenVocabulary, eosIds: readonly number[], rowSize: number, index?: VocabIndex) {
    this.on = new GrammarVocabulary(vocab, eosIds, rowSize, index);
  }

  /** A constraint for one new sequence following `format`. */
  constraint(format: GrammarFormat): JsonConstraint {
    const key = JSON.stringify(format);
    let grammar = this.grammars.get(key);
    if (grammar) this.grammars.delete(key);
    else {
      grammar = new JsonGrammar(format, this.on);
      if (this.grammars.size >= GRAMMARS_PER_ENGINE) this.grammars.delete(this.grammars.keys().next().value!);
    }
    this.grammars.set(key, grammar);
    return new JsonConstraint(grammar, this.on.vocab);
  }
}
