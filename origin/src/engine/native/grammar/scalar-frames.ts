/**
 * Frames of the scalar values: strings (well-formed UTF-8, length in code points), numbers
 * (integer parts kept in the schema's bounds digit by digit) and literal sets (enum, const,
 * booleans, null).
 */
import type { GrammarNode } from './grammar-nodes.ts';
import { BS, type Frame, isDigit, isHex, push, Q, type Stack } from './stack.ts';

const MAX_INT_DIGITS = 15; // exact in a double
const MAX_FRAC_DIGITS = 6;

export class StringFrame implements Frame {
  readonly canEnd = false;
  readonly key: string;
  /** `length` counts code points (escapes as one), as JSON Schema's maxLength does. */
  constructor(
    readonly node: { id: number; minLength: number; maxLength: number },
    readonly length: number,
    readonly pending: number,
    readonly escaped: boolean,
    readonly hex: number,
    /** The lead byte while its first continuation byte is due (it narrows that byte's range). */
    private readonly lead = 0,
  ) {
    this.key = `s${node.id}.${length}.${pending}.${escaped ? 1 : 0}.${hex}.${lead}`;
  }

  private next(rest: Stack, out: Stack[], grow: number, pending: number, escaped: boolean, hex: number, lead = 0): void {
    let length = this.length + grow;
    // Unbounded above, the length only matters until minLength: fewer distinct states.
    if (this.node.maxLength === Infinity) length = Math.min(length, this.node.minLength);
    out.push(push(new StringFrame(this.node, length, pending, escaped, hex, lead), rest));
  }

  feed(b: number, rest: Stack, out: Stack[]): void {
    const room = this.length < this.node.maxLength;
    if (this.pending > 0) {
      // Well-formed UTF-8 only (no overlongs, surrogates or code points past U+10FFFF): a
      // malformed byte would decode as U+FFFD and break maxLength or the client's decoder.
      const [lo, hi] = continuationRange(this.lead);
      if (b >= lo && b <= hi) this.next(rest, out, 0, this.pending - 1, false, 0);
    } else if (this.escaped) {
      if (b === 0x75) this.next(rest, out, 0, 0, false, 4);
      else if (b === Q || b === BS || b === 0x2f || b === 0x62 || b === 0x66 || b === 0x6e || b === 0x72 || b === 0x74) this.next(rest, out, 0, 0, false, 0);
    } else if (this.hex > 0) {
      if (isHex(b)) this.next(rest, out, 0, 0, false, this.hex - 1);
    } else if (b === Q) {
      if (this.length >= this.node.minLength) out.push(rest);
    } else if (!room || b < 0x20) {
      // full, or a control character (must be escaped in JSON)
    } else if (b === BS) this.next(rest, out, 1, 0, true, 0);
    else if (b < 0x80) this.next(rest, out, 1, 0, false, 0);
    else if (b >= 0xc2 && b <= 0xdf) this.next(rest, out, 1, 1, false, 0);
    else if (b >= 0xe0 && b <= 0xef) this.next(rest, out, 1, 2, false, 0, b);
    else if (b >= 0xf0 && b <= 0xf4) this.next(rest, out, 1, 3, false, 0, b);
  }
}

/**
 * Code points of `bytes` when they are plain string content on their own (whole well-formed UTF-8
 * characters, no quote, backslash or control character), else -1.
 */
export function plainStringChars(bytes: Uint8Array): number {
  let chars = 0;
  for (let i = 0; i < bytes.length; chars++) {
    const b = bytes[i]!;
    let n: number;
    if (b === Q || b === BS || b < 0x20) return -1;
    if (b < 0x80) n = 0;
    else if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) n = 2;
    else if (b >= 0xf0 && b <= 0xf4) n = 3;
    else return -1;
    if (i + n >= bytes.length) return -1; // a character cut by the token's end
    const [lo, hi] = continuationRange(n > 1 ? b : 0);
    if (n > 0 && (bytes[i + 1]! < lo || bytes[i + 1]! > hi)) return -1;
    for (let k = 2; k <= n; k++) if (bytes[i + k]! < 0x80 || bytes[i + k]! > 0xbf) return -1;
    i += n + 1;
  }
  return chars;
}

/** Allowed range of the byte after `lead` (0: any continuation byte). */
function continuationRange(lead: number): [number, number] {
  if (lead === 0xe0) return [0xa0, 0xbf];
  if (lead === 0xed) return [0x80, 0x9f];
  if (lead === 0xf0) return [0x90, 0xbf];
  if (lead === 0xf4) return [0x80, 0x8f];
  return [0x80, 0xbf];
}

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
export const N_START = 0;
const N_SIGN = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;

export class NumberFrame implements Frame {
  readonly canEnd: boolean;
  readonly key: string;
  constructor(
    private readonly node: GrammarNode & { kind: 'number' },
    private readonly phase: number,
    private readonly negative: boolean,
    private readonly value: number,
    private readonly digits: number,
    private readonly frac: number,
  ) {
    this.canEnd = (phase === N_INT && inRange(node, negative ? -value : value)) || phase === N_FRAC;
    this.key = `n${node.id}.${phase}.${negative ? 1 : 0}.${value}.${digits}.${frac}`;
  }

  private to(phase: number, negative: boolean, value: number, digits: number, frac: number, rest: Stack, out: Stack[]): void {
    // Unbounded, only "is it zero" matters of the value: fewer distinct states.
    const bounded = this.node.min !== -Infinity || this.node.max !== Infinity;
    out.push(push(new NumberFrame(this.node, phase, negative, bounded ? value : Math.min(value, 1), digits, frac), rest));
  }

  feed(b: number, rest: Stack, out: Stack[]): void {
    const { node } = this;
    switch (this.phase) {
      case N_START:
        if (b === 0x2d) {
          if (DIGITS.some((d) => reachable(node, true, d, 1))) this.to(N_SIGN, true, 0, 0, 0, rest, out);
        } else if (isDigit(b) && reachable(node, false, b - 0x30, 1)) this.to(N_INT, false, b - 0x30, 1, 0, rest, out);
        return;
      case N_SIGN:
        if (isDigit(b) && reachable(node, true, b - 0x30, 1)) this.to(N_INT, true, b - 0x30, 1, 0, rest, out);
        return;
      case N_INT: {
        if (isDigit(b)) {
          const value = this.value * 10 + (b - 0x30);
          if (this.value !== 0 && this.digits < MAX_INT_DIGITS && reachable(node, this.negative, value, this.digits + 1)) {
            this.to(N_INT, this.negative, value, this.digits + 1, 0, rest, out);
          }
        } else if (b === 0x2e && !node.integer && fractionFits(node, this.negative, this.value)) {
          this.to(N_DOT, this.negative, this.value, this.digits, 0, rest, out);
        }
        return;
      }
      default:
        if (isDigit(b) && this.frac < MAX_FRAC_DIGITS) this.to(N_FRAC, this.negative, this.value, this.digits, this.frac + 1, rest, out);
    }
  }
}

function inRange(node: { min: number; max: number }, v: number): boolean {
  return v >= node.min && v <= node.max;
}

/** Whether a number whose integer part starts with `value` (`digits` digits) can still end in range. */
function reachable(node: { min: number; max: number }, negative: boolean, value: number, digits: number): boolean {
  const sign = negative ? -1 : 1;
  if (inRange(node, sign * value)) return true;
  if (value === 0) return false; // a leading zero takes no more digits
  for (let k = 1, scale = 10; digits + k <= MAX_INT_DIGITS; k++, scale *= 10) {
    const lo = value * scale;
    const hi = lo + scale - 1;
    const [a, b] = negative ? [-hi, -lo] : [lo, hi];
    if (b >= node.min && a <= node.max) return true;
  }
  return false;
}

/** A fraction may follow integer part `value` only if every fraction keeps the number in range. */
function fractionFits(node: { min: number; max: number }, negative: boolean, value: number): boolean {
  return negative ? -(value + 1) >= node.min && -value <= node.max : value >= node.min && value + 1 <= node.max;
}

export class LiteralFrame implements Frame {
  readonly canEnd: boolean;
  readonly key: string;
  constructor(
    private readonly node: GrammarNode & { kind: 'literal' },
    private readonly pos: number,
    private readonly live: readonly number[],
  ) {
    this.canEnd = pos > 0 && live.some((i) => node.texts[i]!.length === pos);
    this.key = `l${node.id}.${pos}.${live.join(',')}`;
  }

  feed(b: number, rest: Stack, out: Stack[]): void {
    const { texts } = this.node;
    const pos = this.pos;
    const live = this.live.filter((i) => texts[i]![pos] === b);
    if (live.length === 0) return;
    if (live.every((i) => texts[i]!.length === pos + 1)) out.push(rest);
    else out.push(push(new LiteralFrame(this.node, pos + 1, live), rest));
  }
}
