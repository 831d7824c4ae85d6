/**
 * Stop strings over streamed text. Text is released only when it cannot be the beginning of a stop
 * string, so no part of a stop string ever reaches the client; the output is cut at the earliest
 * stop. Also used (with replacement rules) by the tokenization-space cleaner in text-stream.ts.
 */

/** Length of the longest suffix of `text` that is a proper prefix of one of `patterns`. */
export function heldSuffixLength(text: string, patterns: readonly string[], maxPatternLength: number): number {
  for (let k = Math.min(text.length, maxPatternLength - 1); k > 0; k--) {
    const tail = text.slice(text.length - k);
    if (patterns.some((p) => p.length > k && p.startsWith(tail))) return k;
  }
  return 0;
}

/** Cut index that never splits a UTF-16 surrogate pair (holding one more unit if it would). */
export function safeCut(text: string, cut: number): number {
  if (cut > 0 && cut < text.length) {
    const c = text.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) return cut - 1;
  }
  return cut;
}

export interface StopPush {
  /** Text that may be sent now. */
  text: string;
  /** A stop string was found: `text` ends right before it and nothing follows. */
  stopped: boolean;
}

/** Incremental stop-string matcher for one generation. */
export class StopStringMatcher {
  private readonly stops: string[];
  private readonly maxLen: number;
  private held = '';
  private done = false;

  /** `stops`: the request's stop strings (empty strings are ignored). */
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.maxLen = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** True once a stop string was seen. */
  get stopped(): boolean {
    return this.done;
  }

  /** Feed new text; returns what may be emitted. After a stop, everything is swallowed. */
  push(text: string): StopPush {
    if (this.done) return { text: '', stopped: true };
    if (this.stops.length === 0) return { text, stopped: false };
    const pending = this.held + text;
    // Emitted text never ends inside a stop prefix, so any match starts within `pending`.
    let first = -1;
    for (const s of this.stops) {
      const i = pending.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      this.done = true;
      this.held = '';
      return { text: pending.slice(0, first), stopped: true };
    }
    const cut = safeCut(pending, pending.length - heldSuffixLength(pending, this.stops, this.maxLen));
    this.held = pending.slice(cut);
    return { text: pending.slice(0, cut), stopped: false };
  }

  /** Generation ended without a stop: release the held-back text. */
  flush(): string {
    if (this.done) return '';
    const out = this.held;
    this.held = '';
    return out;
  }
}
