/**
 * Incremental detokenization for streaming: token bytes in, text out. Only complete UTF-8
 * characters are released (a Korean syllable or an emoji split over byte-level tokens never shows
 * up as U+FFFD mid-stream), the optional transformers space cleanup is applied without being
 * fooled by chunk boundaries, and stop strings are held back and cut (stop-strings.ts).
 * Concatenating every `push` result and `end()` equals decoding the whole sequence at once.
 */

import { heldSuffixLength, StopStringMatcher, safeCut } from './stop-strings.ts';
import { cleanUpTokenizationSpaces } from './tokenizer.ts';

// Left-hand sides of cleanUpTokenizationSpaces: a chunk ending in a prefix of one waits.
const CLEANUP_PATTERNS = [' .', ' ?', ' !', ' ,', " ' ", " n't", " 'm", " 's", " 've", " 're"];
const CLEANUP_MAX = 4;

class SpaceCleaner {
  private held = '';

  push(text: string): string {
    const cleaned = cleanUpTokenizationSpaces(this.held + text);
    const cut = safeCut(cleaned, cleaned.length - heldSuffixLength(cleaned, CLEANUP_PATTERNS, CLEANUP_MAX));
    this.held = cleaned.slice(cut);
    return cleaned.slice(0, cut);
  }

  flush(): string {
    const out = this.held;
    this.held = '';
    return out;
  }
}

export interface TextStreamOptions {
  stop: readonly string[];
  /** transformers' clean_up_tokenization_spaces. */
  cleanUpSpaces: boolean;
}

export interface TextPush {
  text: string;
  /** A stop string ended the text; the caller finishes the sequence with reason 'stop'. */
  stopped: boolean;
}

/** Streaming text of one generated sequence. */
export class TextStream {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly cleaner: SpaceCleaner | undefined;
  private readonly stops: StopStringMatcher;

  constructor(opts: TextStreamOptions) {
    this.cleaner = opts.cleanUpSpaces ? new SpaceCleaner() : undefined;
    this.stops = new StopStringMatcher(opts.stop);
  }

  /** True once a stop string was found (later pushes yield nothing). */
  get stopped(): boolean {
    return this.stops.stopped;
  }

  /** Add one token's bytes; returns the text that became final. */
  push(bytes: Uint8Array): TextPush {
    if (this.stops.stopped) return { text: '', stopped: true };
    let text = this.decoder.decode(bytes, { stream: true });
    if (this.cleaner) text = this.cleaner.push(text);
    return this.stops.push(text);
  }

  /**
   * Generation ended (eos, length): flush everything held back. A dangling partial UTF-8
   * sequence becomes U+FFFD here, as a full decode would render it. May still hit a stop string.
   */
  end(): TextPush {
    if (this.stops.stopped) return { text: '', stopped: true };
    let text = this.decoder.decode();
    if (this.cleaner) text = this.cleaner.push(text) + this.cleaner.flush();
    const r = this.stops.push(text);
    if (r.stopped) return r;
    return { text: r.text + this.stops.flush(), stopped: false };
  }
}
