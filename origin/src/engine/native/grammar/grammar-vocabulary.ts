/**
 * What every grammar of one engine shares: the tokenizer's vocabulary, its sorted index for the
 * mask walk, the eos ids and the logits row size; and, for tool calls under `auto`, the part of
 * a free-text mask that holds in every free-text state.
 */
import { type MachineState, stepAll } from './json-machine.ts';
import { OPEN_TAG } from './tagged-calls.ts';
import { type TokenVocabulary, VocabIndex } from './token-mask.ts';

const TAG_END = OPEN_TAG[OPEN_TAG.length - 1]!;

export class GrammarVocabulary {
  readonly index: VocabIndex;
  private freeText: { base: Uint32Array; tagEnding: number[] } | undefined;

  /**
   * Builds the vocabulary index now unless given one: ~2 s for a 219k vocabulary, paid at load
   * rather than as an event-loop stall on the first structured request.
   */
  constructor(
    readonly vocab: TokenVocabulary,
    readonly eosIds: readonly number[],
    readonly rowSize: number,
    index?: VocabIndex,
  ) {
    this.index = index ?? new VocabIndex(vocab, new Set(eosIds));
  }

  /**
   * The tokens free text allows in `state` (a free-text state of a `tagged_calls` grammar), eos
   * aside. Free text can only be refused once a token completes the opening tag, which takes the
   * tag's last byte: every token without that byte is allowed in every free-text state, and so is
   * every token that adds no text (special tokens, empty ones, vocabulary padding), as in
   * unconstrained generation. Only the few tokens holding that byte are walked.
   */
  freeTextMask(state: MachineState): Uint32Array {
    this.freeText ??= this.freeTextBase();
    const mask = this.freeText.base.slice();
    for (const id of this.freeText.tagEnding) if (stepAll(state, this.vocab.tokenBytes(id)).length > 0) mask[id >>> 5]! |= 1 << (id & 31);
    return mask;
  }

  private freeTextBase(): { base: Uint32Array; tagEnding: number[] } {
    const base = new Uint32Array(Math.ceil(this.rowSize / 32));
    const tagEnding: number[] = [];
    const eos = new Set(this.eosIds);
    for (let id = 0; id < this.rowSize; id++) {
      if (eos.has(id)) continue;
      const bytes = this.vocab.tokenBytes(id);
      if (!this.vocab.isSpecial(id) && bytes.includes(TAG_END)) tagEnding.push(id);
      else base[id >>> 5]! |= 1 << (id & 31);
    }
    return { base, tagEnding };
  }
}
