/**
 * A byte-level pushdown recognizer for compact JSON valid against a compiled schema
 * (`SchemaNode`, shared/json-schema-subset.ts). A state is a small set of stacks (more than one
 * only while `anyOf` branches or a number's end are undecided); stacks are immutable linked
 * lists, so stepping shares structure and a state can be kept at every byte of a vocabulary walk
 * without copying. No whitespace is generated: every byte moves the document forward, so a
 * bounded schema always finishes.
 */
import type { GrammarNode } from './grammar-nodes.ts';
import { LiteralFrame, N_START, NumberFrame, StringFrame } from './scalar-frames.ts';
import { type Frame, push, Q, type Stack } from './stack.ts';

/** Object/array nesting allowed where the schema does not bound it (`json_object`). */
export const MAX_NESTING = 32;
const MAX_STACKS = 64;

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

/**
 * When every stack of `state` is inside a string between characters (the common case of a mask
 * walk, which can then skip walking plain tokens): the most characters of plain text one of them
 * may still take; else undefined.
 */
export function plainStringRoom(state: MachineState): number | undefined {
  let room = -1;
  for (const s of state) {
    const top = s.top;
    if (!(top instanceof StringFrame) || top.pending > 0 || top.escaped || top.hex > 0) return undefined;
    room = Math.max(room, top.node.maxLength - top.length);
  }
  return room < 0 ? undefined : room;
}

const KEY_STRING = { id: -1, minLength: 0, maxLength: Infinity };

/** A recognizer state: the stacks still alive (an empty list means the bytes were rejected). */
export type MachineState = readonly Stack[];

/** The state before the first byte of a document matching `root`. */
export function initialState(root: GrammarNode): MachineState {
  return [push(valueFrame(root), endOfDocument())];
}

/** The bottom of every stack: reached, the document is complete and nothing may follow. */
export function endOfDocument(): Stack {
  return { top: DONE, rest: null, depth: 0 };
}

/** A frame that reads one value matching `node` and then hands the bytes to the frames below. */
export function valueFrame(node: GrammarNode): Frame {
  return new ValueFrame(node);
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
