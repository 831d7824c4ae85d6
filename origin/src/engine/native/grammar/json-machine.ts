/**
 * A byte-level pushdown recognizer for compact JSON valid against a compiled schema
 * (`SchemaNode`, shared/json-schema-subset.ts). A state is a small set of stacks (more than one
 * only while `anyOf` branches or a number's end are undecided); stacks are immutable linked
 * lists, so stepping shares structure and a state can be kept at every byte of a vocabulary walk
 * without copying. No whitespace is generated: every byte moves the document forward, so a
 * bounded schema always finishes.
 */
import type { SchemaNode } from '#shared/json-schema-subset.ts';

/** A compiled node: the schema node plus what the byte walk needs precomputed. */
export type GrammarNode =
  | {
      id: number;
      kind: 'object';
      props: { key: Uint8Array; node: GrammarNode }[];
      requiredMask: number;
      /** Any key may appear (`json_object`), with a value of `values`. */
      anyKeys: boolean;
      values: GrammarNode | undefined;
    }
  | { id: number; kind: 'array'; items: GrammarNode; minItems: number; maxItems: number }
  | { id: number; kind: 'string'; minLength: number; maxLength: number }
  | { id: number; kind: 'number'; integer: boolean; min: number; max: number }
  | { id: number; kind: 'literal'; texts: Uint8Array[] }
  | { id: number; kind: 'anyOf'; options: GrammarNode[] };

/** Object/array nesting allowed where the schema does not bound it (`json_object`). */
export const MAX_NESTING = 32;
const MAX_INT_DIGITS = 15; // exact in a double
const MAX_FRAC_DIGITS = 6;
const MAX_STACKS = 64;

const enc = new TextEncoder();
const Q = 0x22; // "
const BS = 0x5c; // \
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Convert a compiled schema to grammar nodes (ids for state keys, key and literal bytes). */
export function grammarNodes(root: SchemaNode): GrammarNode {
  let next = 0;
  const seen = new Map<SchemaNode, GrammarNode>();
  const any = (): GrammarNode => {
    const node: GrammarNode = { id: next++, kind: 'anyOf', options: [] };
    const object: GrammarNode = { id: next++, kind: 'object', props: [], requiredMask: 0, anyKeys: true, values: node };
    const array: GrammarNode = { id: next++, kind: 'array', items: node, minItems: 0, maxItems: Infinity };
    const string: GrammarNode = { id: next++, kind: 'string', minLength: 0, maxLength: Infinity };
    const number: GrammarNode = { id: next++, kind: 'number', integer: false, min: -Infinity, max: Infinity };
    const literal: GrammarNode = { id: next++, kind: 'literal', texts: ['true', 'false', 'null'].map((t) => enc.encode(t)) };
    node.options.push(object, array, string, number, literal);
    return node;
  };
  let anyNode: GrammarNode | undefined;
  const convert = (n: SchemaNode): GrammarNode => {
    if (n.kind === 'any') return (anyNode ??= any());
    const done = seen.get(n);
    if (done) return done;
    let out: GrammarNode;
    switch (n.kind) {
      case 'object': {
        let requiredMask = 0;
        n.props.forEach((p, i) => {
          if (p.required) requiredMask |= 1 << i;
        });
        // The opening quote is matched on its own; the key's bytes run through the closing one.
        const props = n.props.map((p) => ({ key: enc.encode(JSON.stringify(p.name).slice(1)), node: convert(p.node) }));
        const values = n.anyKeys ? (anyNode ??= any()) : undefined;
        out = { id: next++, kind: 'object', props, requiredMask: requiredMask >>> 0, anyKeys: n.anyKeys, values };
        break;
      }
      case 'array':
        out = { id: next++, kind: 'array', items: convert(n.items), minItems: n.minItems, maxItems: n.maxItems };
        break;
      case 'literal':
        out = { id: next++, kind: 'literal', texts: n.texts.map((t) => enc.encode(t)) };
        break;
      case 'anyOf':
        out = { id: next++, kind: 'anyOf', options: n.options.map(convert) };
        break;
      default:
        out = { id: next++, ...n };
    }
    seen.set(n, out);
    return out;
  };
  return convert(root);
}

/** One frame of a stack: consumes bytes, pushing successor stacks. */
interface Frame {
  /** Feed byte `b` with `rest` under this frame; successors go to `out`. */
  feed(b: number, rest: Stack, out: Stack[]): void;
  /** The value may end here with no closing byte (a number, a literal that is a prefix of another). */
  readonly canEnd: boolean;
  readonly key: string;
}

/** An immutable stack of frames; `key` identifies it within one grammar. */
export interface Stack {
  readonly top: Frame;
  readonly rest: Stack | null;
  readonly depth: number;
  key?: string;
}

const push = (top: Frame, rest: Stack): Stack => ({ top, rest, depth: rest.depth + 1 });

const DONE: Frame = { feed() {}, canEnd: false, key: 'D' };

function startValue(node: GrammarNode, b: number, rest: Stack, out: Stack[]): void {
  switch (node.kind) {
    case 'object':
      if (b === 0x7b && rest.depth <= MAX_NESTING) out.push(push(new ObjectFrame(node, OPEN, 0, 0, EMPTY, -1), rest));
      return;
    case 'array':
      if (b === 0x5b && rest.depth <= MAX_NESTING) out.push(push(new ArrayFrame(node, OPEN, 0), rest));
      return;
    case 'string':
      if (b === Q) out.push(push(new StringFrame(node, 0, 0, false, 0), rest));
      return;
    case 'number':
      new NumberFrame(node, N_START, false, 0, 0, 0).feed(b, rest, out);
      return;
    case 'literal':
      new LiteralFrame(
        node,
        0,
        node.texts.map((_, i) => i),
      ).feed(b, rest, out);
      return;
    default:
      for (const option of node.options) startValue(option, b, rest, out);
  }
}

class ValueFrame implements Frame {
  readonly canEnd = false;
  readonly key: string;
  constructor(private readonly node: GrammarNode) {
    this.key = `v${node.id}`;
  }
  feed(b: number, rest: Stack, out: Stack[]): void {
    startValue(this.node, b, rest, out);
  }
}

const EMPTY: readonly number[] = [];
const OPEN = 0;
const NEED_KEY = 1;
const KEY = 2;
const COLON = 3;
const VALUE = 4;
const AFTER = 5;

class ObjectFrame implements Frame {
  readonly canEnd = false;
  readonly key: string;
  constructor(
    private readonly node: GrammarNode & { kind: 'object' },
    private readonly phase: number,
    private readonly used: number,
    private readonly keyPos: number,
    private readonly live: readonly number[],
    private readonly current: number,
  ) {
    this.key = `o${node.id}.${phase}.${used}.${keyPos}.${live.join(',')}.${current}`;
  }

  private with(phase: number, used: number, keyPos = 0, live: readonly number[] = EMPTY, current = -1): ObjectFrame {
    return new ObjectFrame(this.node, phase, used, keyPos, live, current);
  }

  private unused(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.node.props.length; i++) if (!(this.used & (1 << i))) out.push(i);
    return out;
  }

  private close(rest: Stack, out: Stack[]): void {
    if ((this.used & this.node.requiredMask) === this.node.requiredMask) out.push(rest);
  }

  private openKey(rest: Stack, out: Stack[]): void {
    if (this.node.anyKeys) {
      out.push(push(new StringFrame(KEY_STRING, 0, 0, false, 0), push(this.with(COLON, this.used), rest)));
      return;
    }
    const live = this.unused();
    if (live.length > 0) out.push(push(this.with(KEY, this.used, 0, live), rest));
  }

  feed(b: number, rest: Stack, out: Stack[]): void {
    const { node } = this;
    switch (this.phase) {
      case OPEN:
        if (b === 0x7d) this.close(rest, out);
        else if (b === Q) this.openKey(rest, out);
        return;
      case NEED_KEY:
        if (b === Q) this.openKey(rest, out);
        return;
      case KEY: {
        const pos = this.keyPos;
        const live = this.live.filter((i) => node.props[i]!.key[pos] === b);
        if (live.length === 0) return;
        // Keys end with their closing quote, so a finished key is the only one left.
        const done = live.find((i) => node.props[i]!.key.length === pos + 1);
        out.push(push(done !== undefined ? this.with(COLON, this.used, 0, EMPTY, done) : this.with(KEY, this.used, pos + 1, live), rest));
        return;
      }
      case COLON:
        if (b === 0x3a) out.push(push(this.with(VALUE, this.used, 0, EMPTY, this.current), rest));
        return;
      case VALUE: {
        const used = this.current >= 0 ? (this.used | (1 << this.current)) >>> 0 : this.used;
        const child = this.current >= 0 ? node.props[this.current]!.node : node.values;
        if (child) startValue(child, b, push(this.with(AFTER, used), rest), out);
        return;
      }
      default:
        if (b === 0x7d) this.close(rest, out);
        else if (b === 0x2c && (node.anyKeys || this.unused().length > 0)) out.push(push(this.with(NEED_KEY, this.used), rest));
    }
  }
}

class ArrayFrame implements Frame {
  readonly canEnd = false;
  readonly key: string;
  constructor(
    private readonly node: GrammarNode & { kind: 'array' },
    private readonly phase: number,
    private readonly count: number,
  ) {
    this.key = `a${node.id}.${phase}.${count}`;
  }

  feed(b: number, rest: Stack, out: Stack[]): void {
    const { node, count } = this;
    if (this.phase === AFTER) {
      if (b === 0x5d && count >= node.minItems) out.push(rest);
      // Past minItems the count only matters up to maxItems: unbounded arrays keep one key.
      else if (b === 0x2c && count < node.maxItems) out.push(push(new ArrayFrame(node, VALUE, count), rest));
      return;
    }
    if (this.phase === OPEN && b === 0x5d) {
      if (node.minItems === 0) out.push(rest);
      return;
    }
    if (count >= node.maxItems) return;
    const written = node.maxItems === Infinity ? Math.min(count + 1, node.minItems) : count + 1;
    startValue(node.items, b, push(new ArrayFrame(node, AFTER, written), rest), out);
  }
}

class StringFrame implements Frame {
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

/**
 * Characters a plain string may still take when `state` is one stack inside a string between
 * characters (the common case of a mask walk, which can then skip walking plain tokens); else
 * undefined.
 */
export function plainStringRoom(state: MachineState): number | undefined {
  if (state.length !== 1) return undefined;
  const top = state[0]!.top;
  if (!(top instanceof StringFrame) || top.pending > 0 || top.escaped || top.hex > 0) return undefined;
  return top.node.maxLength - top.length;
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
const N_START = 0;
const N_SIGN = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;

class NumberFrame implements Frame {
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

class LiteralFrame implements Frame {
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

const KEY_STRING = { id: -1, minLength: 0, maxLength: Infinity };

/** A recognizer state: the stacks still alive (an empty list means the bytes were rejected). */
export type MachineState = readonly Stack[];

/** The state before the first byte of a document matching `root`. */
export function initialState(root: GrammarNode): MachineState {
  return [push(new ValueFrame(root), { top: DONE, rest: null, depth: 0 })];
}

function feedStack(stack: Stack, b: number, out: Stack[]): void {
  const { top, rest } = stack;
  if (rest === null) return;
  top.feed(b, rest, out);
  // A value that may end here lets its parent see the byte too (`1,` ends a number with a comma).
  if (top.canEnd) feedStack(rest, b, out);
}

/** The state after byte `b` (empty when `b` is not allowed). */
export function step(state: MachineState, b: number): MachineState {
  const out: Stack[] = [];
  for (const s of state) feedStack(s, b, out);
  if (out.length <= 1) return out;
  const seen = new Set<string>();
  const unique: Stack[] = [];
  for (const s of out) {
    const k = stackKey(s);
    if (seen.has(k)) continue;
    seen.add(k);
    unique.push(s);
    if (unique.length === MAX_STACKS) break;
  }
  return unique;
}

/** The state after all of `bytes` (empty when rejected). */
export function stepAll(state: MachineState, bytes: Uint8Array): MachineState {
  let s = state;
  for (let i = 0; i < bytes.length && s.length > 0; i++) s = step(s, bytes[i]!);
  return s;
}

/** Whether the bytes so far form a complete document. */
export function isComplete(state: MachineState): boolean {
  return state.some((s) => s.top === DONE || (s.top.canEnd && s.rest?.top === DONE));
}

/** Whether any byte may still follow. */
export function canContinue(state: MachineState): boolean {
  return state.some((s) => s.top !== DONE);
}

export function stackKey(s: Stack): string {
  if (s.key === undefined) s.key = s.rest ? `${s.top.key}|${stackKey(s.rest)}` : s.top.key;
  return s.key;
}

/** Identifies a state within one grammar (the mask cache key). */
export function stateKey(state: MachineState): string {
  return state.length === 1 ? stackKey(state[0]!) : state.map(stackKey).sort().join('#');
}
