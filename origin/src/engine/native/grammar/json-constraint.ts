/**
 * Structured output for one engine: a `response_format` compiled once into a `JsonGrammar`
 * (grammar nodes + per-state mask cache, shared by every request with the same format), and one
 * `JsonConstraint` per sequence holding its own recognizer state. Each step the constraint masks
 * the logits to the tokens that keep the document valid; end-of-sequence is allowed only once the
 * document is complete, and the sequence ends by itself when nothing may follow.
 */
import { ApiError } from '#shared/errors.ts';
import { ANY_OBJECT, compileJsonSchema, type SchemaNode, UnsupportedSchemaError } from '#shared/json-schema-subset.ts';
import { forcedToolSchema, type ToolRequest } from '#shared/openai-tools.ts';
import type { StructuredFormat } from '../../types.ts';
import { grammarNodes } from './grammar-nodes.ts';
import { canContinue, initialState, isComplete, type MachineState, stateKey, stepAll } from './json-machine.ts';
import { allowedTokens, applyMask, type TokenVocabulary, VocabIndex } from './token-mask.ts';

/**
 * Masks kept per grammar (each is vocabulary/8 bytes: 27 KB for Motif's 219,520 tokens), and
 * formats kept per engine: at most 16 × 64 × 27 KB = 28 MB of masks.
 */
const MASKS_PER_GRAMMAR = 64;
const GRAMMARS_PER_ENGINE = 16;

/** A compiled response format over one vocabulary. */
export class JsonGrammar {
  private readonly masks = new Map<string, Uint32Array>();
  readonly start: MachineState;

  constructor(
    format: StructuredFormat,
    private readonly index: VocabIndex,
    private readonly eosIds: readonly number[],
    private readonly rowSize: number,
  ) {
    this.start = initialState(grammarNodes(compileFormat(format)));
  }

  /** Allowed tokens in `state`: continuations, plus eos once the document is complete. */
  mask(state: MachineState): Uint32Array {
    const key = stateKey(state);
    let mask = this.masks.get(key);
    if (mask) {
      // Refresh its place: the oldest-used mask is the one evicted.
      this.masks.delete(key);
      this.masks.set(key, mask);
      return mask;
    }
    mask = allowedTokens(this.index, state, Math.ceil(this.rowSize / 32));
    if (isComplete(state)) for (const id of this.eosIds) mask[id >>> 5]! |= 1 << (id & 31);
    if (this.masks.size >= MASKS_PER_GRAMMAR) this.masks.delete(this.masks.keys().next().value!);
    this.masks.set(key, mask);
    return mask;
  }
}

/** The format a forced tool call follows (`required` or a named function); undefined when the model chooses. */
export function forcedToolFormat(tools: ToolRequest | undefined): StructuredFormat | undefined {
  const schema = tools && forcedToolSchema(tools);
  return schema ? { type: 'json_schema', schema } : undefined;
}

// The server checked the schema already; a direct engine caller gets the same 400.
function compileFormat(format: StructuredFormat): SchemaNode {
  if (format.type === 'json_object') return ANY_OBJECT;
  try {
    return compileJsonSchema(format.schema);
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) throw new ApiError('invalid_request_error', err.message, { param: 'response_format', cause: err });
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
    this.state = stepAll(this.state, this.vocab.tokenBytes(id));
  }

  /** The document is complete and nothing may follow: the sequence is done. */
  get finished(): boolean {
    return !canContinue(this.state);
  }
}

/** Compiled grammars of one engine, keyed by the format's JSON (recently used kept). */
export class GrammarCache {
  private readonly grammars = new Map<string, JsonGrammar>();

  private readonly index: VocabIndex;

  /**
   * Builds the vocabulary index now unless given one: ~2 s for a 219k vocabulary, paid at load
   * rather than as an event-loop stall on the first structured request.
   */
  constructor(
    private readonly vocab: TokenVocabulary,
    private readonly eosIds: readonly number[],
    private readonly rowSize: number,
    index?: VocabIndex,
  ) {
    this.index = index ?? new VocabIndex(vocab, new Set(eosIds));
  }

  /** A constraint for one new sequence following `format`. */
  constraint(format: StructuredFormat): JsonConstraint {
    const key = JSON.stringify(format);
    let grammar = this.grammars.get(key);
    if (grammar) this.grammars.delete(key);
    else {
      grammar = new JsonGrammar(format, this.index, this.eosIds, this.rowSize);
      if (this.grammars.size >= GRAMMARS_PER_ENGINE) this.grammars.delete(this.grammars.keys().next().value!);
    }
    this.grammars.set(key, grammar);
    return new JsonConstraint(grammar, this.vocab);
  }
}
