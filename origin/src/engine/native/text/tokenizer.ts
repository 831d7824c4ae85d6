/**
 * The Motif tokenizer: Hugging Face `tokenizer.json` + `tokenizer_config.json` run by
 * @huggingface/tokenizers (pure JS, no runtime imports, so it also runs in a Worker). Adds what
 * serving needs on top: exact per-token bytes (logprob `bytes`, incremental UTF-8 streaming), the
 * special-token set, and the `clean_up_tokenization_spaces` setting read from the config rather
 * than tokenizers.js's default.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import { utf8Length } from '#shared/prompt-size.ts';

/** A special token in tokenizer_config.json: a plain string or an AddedToken dict. */
const TokenRef = z
  .union([z.string(), z.looseObject({ content: z.string() })])
  .nullable()
  .optional();

/** The fields of tokenizer_config.json we act on (others pass through to tokenizers.js). */
export const TokenizerConfigSchema = z.looseObject({
  chat_template: z
    .union([z.string(), z.array(z.object({ name: z.string(), template: z.string() }))])
    .nullable()
    .optional(),
  bos_token: TokenRef,
  eos_token: TokenRef,
  pad_token: TokenRef,
  unk_token: TokenRef,
  sep_token: TokenRef,
  cls_token: TokenRef,
  mask_token: TokenRef,
  additional_special_tokens: z.array(z.union([z.string(), z.looseObject({ content: z.string() })])).optional(),
  clean_up_tokenization_spaces: z.boolean().optional(),
  model_max_length: z.number().optional(),
});
export type TokenizerConfig = z.infer<typeof TokenizerConfigSchema>;

const AddedTokenSchema = z.looseObject({ id: z.number().int().min(0), content: z.string(), special: z.boolean().default(false) });

/** The parts of tokenizer.json we read ourselves (the whole object goes to tokenizers.js). */
export const TokenizerJsonSchema = z.looseObject({
  model: z.looseObject({ type: z.string().optional(), byte_fallback: z.boolean().nullable().optional() }),
  added_tokens: z.array(AddedTokenSchema).default([]),
  decoder: z.looseObject({ type: z.string() }).nullable().optional(),
  normalizer: z.unknown().optional(),
});

/** Raw file contents of a model's tokenizer. */
export interface TokenizerSources {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
}

/** A special-token value from the config as its string content (AddedToken dicts unwrapped). */
export function tokenContent(ref: TokenizerConfig['bos_token']): string | undefined {
  if (ref == null) return undefined;
  return typeof ref === 'string' ? ref : ref.content;
}

export interface EncodeOptions {
  /** Run the post-processor (e.g. BOS insertion). Chat prompts already carry their specials: false. */
  addSpecialTokens?: boolean;
}

/** Tokenizer of one model: encode/decode plus per-token bytes. */
export class MotifTokenizer {
  readonly config: TokenizerConfig;
  /** Number of token ids the tokenizer knows (the model's vocab_size may be larger: padding). */
  readonly size: number;
  readonly cleanUpSpaces: boolean;
  /**
   * The config tokenizers.js is built with (tokenizer_config.json as this class reads it): a copy
   * built from it and the same tokenizer.json encodes identically (a worker thread's, say).
   */
  readonly libraryConfig: Readonly<Record<string, unknown>>;
  private readonly hf: Tokenizer;
  private readonly special = new Set<number>();
  private readonly idsByContent = new Map<string, number>();
  // All token bytes in one buffer + offsets: one allocation even for a 219k vocabulary.
  private readonly bytes: Uint8Array;
  private readonly offsets: Uint32Array;
  private readonly utf8 = new TextDecoder('utf-8');
  /**
   * Bytes of text one token can cover at most; undefined when a normalizer may rewrite the text
   * first (then the input's bytes say nothing sure about its token count).
   */
  private readonly maxTokenBytes: number | undefined;

  /** Build from parsed file contents; throws ApiError('engine_unavailable') on malformed files. */
  constructor(src: TokenizerSources) {
    const json = parseOrThrow(TokenizerJsonSchema, src.tokenizerJson, 'tokenizer.json');
    this.config = parseOrThrow(TokenizerConfigSchema, src.tokenizerConfig, 'tokenizer_config.json');
    // tokenizers.js treats a missing key as true, which mangles byte-level text (" ." → ".");
    // current transformers defaults to false, so the config's own value (or false) wins.
    this.cleanUpSpaces = this.config.clean_up_tokenization_spaces ?? false;
    const hfConfig = {
      ...this.config,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
      additional_special_tokens: (this.config.additional_special_tokens ?? []).map((t) => (typeof t === 'string' ? t : t.content)),
    };
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token', 'sep_token', 'cls_token', 'mask_token'] as const) {
      const c = tokenContent(this.config[key]);
      if (c !== undefined) (hfConfig as Record<string, unknown>)[key] = c;
    }
    this.libraryConfig = hfConfig;
    try {
      this.hf = new Tokenizer(src.tokenizerJson as object, hfConfig);
    } catch (err) {
      throw new ApiError('engine_unavailable', `Cannot build tokenizer: ${(err as Error).message}`, { cause: err });
    }
    for (const t of json.added_tokens) {
      this.idsByContent.set(t.content, t.id);
      if (t.special) this.special.add(t.id);
    }
    const table = buildByteTable(this.hf, json);
    this.bytes = table.bytes;
    this.offsets = table.offsets;
    this.size = table.offsets.length - 1;
    let longest = 1;
    for (let id = 0; id < this.size; id++) longest = Math.max(longest, this.offsets[id + 1]! - this.offsets[id]!);
    this.maxTokenBytes = json.normalizer == null ? longest : undefined;
  }

  /**
   * A lower bound on the number of tokens `text` encodes to, from its UTF-8 length alone (each
   * token covers at most maxTokenBytes bytes): lets a huge prompt be refused without tokenizing
   * it. 0 when no bound is sure (a normalizer).
   */
  minTokens(text: string): number {
    return this.maxTokenBytes === undefined ? 0 : Math.ceil(utf8Length(text) / this.maxTokenBytes);
  }

  /**
   * The most UTF-8 bytes a text may have and still encode to fewer than `tokens` tokens (the same
   * bound as minTokens, from the other side); undefined when no length bounds it (a normalizer).
   */
  maxBytesBelow(tokens: number): number | undefined {
    return this.maxTokenBytes === undefined ? undefined : Math.max(0, tokens - 1) * this.maxTokenBytes;
  }

  /** Token ids of `text`. Special-token strings (e.g. `<|im_start|>`) map to their single ids. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? false }).ids;
  }

  /** Text of `ids` (invalid UTF-8 becomes U+FFFD), honouring clean_up_tokenization_spaces. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const id of ids) {
      if (opts.skipSpecialTokens && this.special.has(id)) continue;
      const b = this.tokenBytes(id);
      parts.push(b);
      n += b.length;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const text = this.utf8.decode(all);
    return this.cleanUpSpaces ? cleanUpTokenizationSpaces(text) : text;
  }

  /** The exact bytes token `id` stands for (empty for ids outside the tokenizer's vocabulary). */
  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) return EMPTY;
    return this.bytes.subarray(this.offsets[id]!, this.offsets[id + 1]!);
  }

  /** Display text of one token (partial UTF-8 shows as U+FFFD), as in OpenAI logprobs `token`. */
  tokenText(id: number): string {
    return this.utf8.decode(this.tokenBytes(id));
  }

  /** True for special tokens (they never reach generated text). */
  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  /** Id of an added/special token by its content, e.g. `<|im_end|>`. */
  specialId(content: string): number | undefined {
    return this.idsByContent.get(content);
  }
}

const EMPTY = new Uint8Array(0);

/** The cleanup transformers applies when `clean_up_tokenization_spaces` is true. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replace(/ \./g, '.')
    .replace(/ \?/g, '?')
    .replace(/ !/g, '!')
    .replace(/ ,/g, ',')
    .replace(/ ' /g, "'")
    .replace(/ n't/g, "n't")
    .replace(/ 'm/g, "'m")
    .replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve")
    .replace(/ 're/g, "'re");
}

/** GPT-2's byte ↔ printable-character map used by ByteLevel pre-tokenizers: char code → byte. */
function byteLevelDecoderMap(): Map<number, number> {
  const map = new Map<number, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(printable ? b : 256 + extra++, b);
  }
  return map;
}

function usesByteLevel(decoder: unknown): boolean {
  if (decoder == null || typeof decoder !== 'object') return false;
  const d = decoder as { type?: unknown; decoders?: unknown };
  if (d.type === 'ByteLevel') return true;
  return d.type === 'Sequence' && Array.isArray(d.decoders) && d.decoders.some(usesByteLevel);
}

function buildByteTable(hf: Tokenizer, json: z.infer<typeof TokenizerJsonSchema>): { bytes: Uint8Array; offsets: Uint32Array } {
  const enc = new TextEncoder();
  const byteLevel = usesByteLevel(json.decoder);
  const charToByte = byteLevel ? byteLevelDecoderMap() : null;
  const added = new Map(json.added_tokens.map((t) => [t.id, t.content]));
  let size = 0;
  for (const id of added.keys()) size = Math.max(size, id + 1);
  while (hf.id_to_token(size) !== undefined) size++;
  const perToken: Uint8Array[] = new Array(size);
  let total = 0;
  for (let id = 0; id < size; id++) {
    const content = added.get(id);
    const tok = content ?? hf.id_to_token(id);
    let b: Uint8Array;
    if (tok === undefined) b = EMPTY;
    else if (content !== undefined)
      b = enc.encode(content); // added tokens are literal text
    else if (charToByte) b = byteLevelBytes(tok, charToByte, enc);
    else b = sentencePieceBytes(tok, json.model.byte_fallback === true, enc);
    perToken[id] = b;
    total += b.length;
  }
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(size + 1);
  let o = 0;
  for (let id = 0; id < size; id++) {
    const b = perToken[id]!;
    offsets[id] = o;
    bytes.set(b, o);
    o += b.length;
  }
  offsets[size] = o;
  return { bytes, offsets };
}

function byteLevelBytes(tok: string, map: Map<number, number>, enc: TextEncoder): Uint8Array {
  const out: number[] = [];
  for (const ch of tok) {
    const b = map.get(ch.codePointAt(0)!);
    if (b === undefined) return enc.encode(tok); // not a byte-level token: keep its text
    out.push(b);
  }
  return Uint8Array.from(out);
}

// SentencePiece-style vocabularies: `▁` is a space and `<0xNN>` a raw byte (byte_fallback).
function sentencePieceBytes(tok: string, byteFallback: boolean, enc: TextEncoder): Uint8Array {
  const m = byteFallback ? /^<0x([0-9A-Fa-f]{2})>$/.exec(tok) : null;
  if (m) return Uint8Array.of(parseInt(m[1]!, 16));
  return enc.encode(tok.replaceAll('\u2581', ' '));
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, file: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ApiError('engine_unavailable', `Invalid ${file}${where}: ${issue?.message ?? 'bad shape'}`, { cause: r.error });
  }
  return r.data;
}
