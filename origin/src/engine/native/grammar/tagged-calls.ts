/**
 * A lazy (triggered) grammar, for `tool_choice: auto` with `strict` functions: free text, in
 * which every `<tool_call>` must be followed by an optional newline, one call object the call
 * grammar accepts, an optional newline and `</tool_call>`, then free text again. Built from the
 * JSON recognizer's own frames, so the mask walk, the mask cache and the constraint run over it
 * unchanged: the free text is one frame per matched length of the opening tag (a KMP automaton
 * over bytes), whose stacks are made once, so a free-text byte allocates nothing and the free
 * phase has only `OPEN_TAG.length` states, each a cached mask. The free text may end (eos) at
 * any point; inside a block it may not.
 */
import type { GrammarNode } from './grammar-nodes.ts';
import { endOfDocument, type MachineState, valueFrame } from './json-machine.ts';
import { type Frame, push, type Stack } from './stack.ts';

const enc = new TextEncoder();
/** The tool-call convention's tags (engine/native/README.md "Tools"; the server parses the same). */
export const OPEN_TAG = enc.encode('<tool_call>');
export const CLOSE_TAG = enc.encode('</tool_call>');
const NEWLINE = 0x0a;

/**
 * The tag matcher: `next[k * 256 + b]` is the length of the longest prefix of `tag` that ends the
 * text after `k` matched bytes and then `b` (Knuth–Morris–Pratt as a byte automaton).
 */
export function tagAutomaton(tag: Uint8Array): Uint8Array {
  const next = new Uint8Array(tag.length * 256);
  // fallback: the state after the text matched so far minus its first byte.
  let fallback = 0;
  for (let k = 0; k < tag.length; k++) {
    for (let b = 0; b < 256; b++) next[k * 256 + b] = b === tag[k] ? k + 1 : k === 0 ? 0 : next[fallback * 256 + b]!;
    if (k > 0) fallback = next[fallback * 256 + tag[k]!]!;
  }
  return next;
}

/** Free text after `matched` bytes of the opening tag; `open`: another block may still start. */
class FreeTextFrame implements Frame {
  // The text may end here: with the end of document below, the state is complete (eos allowed).
  readonly canEnd = true;
  readonly key: string;
  constructor(
    private readonly matched: number,
    private readonly open: boolean,
    private readonly calls: TaggedCalls,
  ) {
    this.key = `${open ? 'f' : 'd'}${matched}`;
  }
  feed(b: number, _rest: Stack, out: Stack[]): void {
    const next = this.calls.afterText(this.matched, this.open, b);
    if (next) out.push(next);
  }
}

/** An optional byte: taken, or passed on to the frame below (it may end here). */
class OptionalByteFrame implements Frame {
  readonly canEnd = true;
  readonly key: string;
  constructor(private readonly byte: number) {
    this.key = `?${byte}`;
  }
  feed(b: number, rest: Stack, out: Stack[]): void {
    if (b === this.byte) out.push(rest);
  }
}

/** The bytes of `tag` from `pos` on. */
class TagFrame implements Frame {
  readonly canEnd = false;
  readonly key: string;
  constructor(
    private readonly tag: Uint8Array,
    private readonly pos: number,
  ) {
    this.key = `t${pos}`;
  }
  feed(b: number, rest: Stack, out: Stack[]): void {
    if (b !== this.tag[this.pos]) return;
    out.push(this.pos + 1 === this.tag.length ? rest : push(new TagFrame(this.tag, this.pos + 1), rest));
  }
}

// The frames below a call do not count as JSON nesting: the call may nest as deep as a document.
const below = (top: Frame, rest: Stack): Stack => ({ top, rest, depth: 0 });

class TaggedCalls {
  private readonly next = tagAutomaton(OPEN_TAG);
  readonly free: Stack[];
  /** Free text after the one call `parallel_tool_calls: false` allows: it may not open another block. */
  private readonly done: Stack[];
  private readonly call: Stack;

  constructor(callNode: GrammarNode, parallel: boolean) {
    const end = endOfDocument();
    const text = (open: boolean) => Array.from({ length: OPEN_TAG.length }, (_, k) => below(new FreeTextFrame(k, open, this), end));
    this.free = text(true);
    this.done = parallel ? this.free : text(false);
    const closing = below(new OptionalByteFrame(NEWLINE), below(new TagFrame(CLOSE_TAG, 0), this.done[0]!));
    this.call = below(new OptionalByteFrame(NEWLINE), below(valueFrame(callNode), closing));
  }

  /** The state after byte `b` of free text; undefined when `b` would open a block that may not be. */
  afterText(matched: number, open: boolean, b: number): Stack | undefined {
    const k = this.next[matched * 256 + b]!;
    if (k === OPEN_TAG.length) return open ? this.call : undefined;
    return (open ? this.free : this.done)[k]!;
  }
}

/**
 * The state before the first byte of free text whose `<tool_call>` blocks each hold one
 * `callNode`; without `parallel`, at most one block.
 */
export function taggedCallsState(callNode: GrammarNode, parallel = true): MachineState {
  return [new TaggedCalls(callNode, parallel).free[0]!];
}

/** Whether `state` is in free text (outside every block): its masks are few and kept for good. */
export function inFreeText(state: MachineState): boolean {
  return state.length === 1 && state[0]!.top instanceof FreeTextFrame;
}
