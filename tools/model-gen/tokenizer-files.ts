/**
 * The Hugging Face tokenizer files of a generated model — `tokenizer.json` (byte-level BPE with the
 * o200k Split + ByteLevel pre-tokenizer and ByteLevel decoder), `tokenizer_config.json` (ChatML
 * chat template, special tokens, no clean-up of spaces) and `special_tokens_map.json` — built from
 * a trained `BpeModel`. Between the BPE tokens and the special tokens at the top of the vocabulary,
 * unused `<|reserved_N|>` entries pad the vocabulary to the model's vocab_size (the real Motif
 * vocabulary is much larger than a toy corpus can train).
 */
import type { BpeModel } from './bpe-trainer.ts';
import { type SpecialTokenIds, specialTokenIds } from './model-config.ts';
import { O200K_SPLIT_PATTERN } from './pre-tokenizer.ts';

export const SPECIAL_TOKENS = { endOfText: '<|endoftext|>', imStart: '<|im_start|>', imEnd: '<|im_end|>' } as const;

/** ChatML: one `<|im_start|>role\ncontent<|im_end|>\n` block per message, then the assistant cue. */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  vocabSize: number;
  specialIds: SpecialTokenIds;
}

/** Vocabulary size when nothing is padded: BPE tokens plus the three special tokens. */
export function naturalVocabSize(bpe: BpeModel): number {
  return bpe.vocab.length + 3;
}

/**
 * Build the three tokenizer documents for a vocabulary of `vocabSize` ids (≥ the natural size).
 * `modelMaxLength` is written as tokenizer_config's model_max_length.
 */
export function buildTokenizerFiles(bpe: BpeModel, vocabSize: number, modelMaxLength: number): TokenizerFiles {
  const natural = naturalVocabSize(bpe);
  if (!Number.isInteger(vocabSize) || vocabSize < natural) throw new RangeError(`vocab_size ${vocabSize} is smaller than the tokenizer's ${natural} tokens`);
  const ids = specialTokenIds(vocabSize);
  const vocab: Record<string, number> = {};
  bpe.vocab.forEach((tok, id) => {
    vocab[tok] = id;
  });
  // Reserved tokens are plain vocabulary entries no merge can produce (never emitted by encode);
  // tens of thousands of *added* tokens would make tokenizer libraries build huge matchers.
  for (let id = bpe.vocab.length, n = 0; id < ids.endOfText; id++, n++) vocab[`<|reserved_${n}|>`] = id;

  const specials: [string, number][] = [
    [SPECIAL_TOKENS.endOfText, ids.endOfText],
    [SPECIAL_TOKENS.imStart, ids.imStart],
    [SPECIAL_TOKENS.imEnd, ids.imEnd],
  ];
  const flags = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(([content, id]) => ({ id, content, ...flags })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: O200K_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: bpe.merges.map(([a, b]) => [a, b]),
    },
  };

  const decoderEntry = (content: string) => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true });
  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(specials.map(([content, id]) => [String(id), decoderEntry(content)])),
    additional_special_tokens: [SPECIAL_TOKENS.imStart, SPECIAL_TOKENS.imEnd],
    bos_token: SPECIAL_TOKENS.endOfText,
    chat_template: CHATML_TEMPLATE,
    // tokenizers.js defaults this to true when absent, which would alter decoded text.
    clean_up_tokenization_spaces: false,
    eos_token: SPECIAL_TOKENS.imEnd,
    errors: 'replace',
    model_max_length: modelMaxLength,
    pad_token: SPECIAL_TOKENS.endOfText,
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
  const specialTokensMap = {
    additional_special_tokens: [SPECIAL_TOKENS.imStart, SPECIAL_TOKENS.imEnd],
    bos_token: SPECIAL_TOKENS.endOfText,
    eos_token: SPECIAL_TOKENS.imEnd,
    pad_token: SPECIAL_TOKENS.endOfText,
  };
  return { tokenizerJson, tokenizerConfig, specialTokensMap, vocabSize, specialIds: ids };
}
