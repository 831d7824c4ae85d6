/**
 * Tool calls found while an answer streams, so a client offered tools still sees text as it is
 * generated and each call as soon as its block closes, not the whole answer at its end. The same
 * convention as tool-calls.ts (which the JSON answer and the end of a held answer use):
 *
 * - text streams as content, except a tail that may be the start of `<tool_call>` and trailing
 *   whitespace (which would only separate text from a call);
 * - a `<tool_call>…</tool_call>` block is held until it closes, then leaves as its calls, or as
 *   text when it names no offered function or its arguments are not a JSON object;
 * - an answer whose first character is `{` or `[` may be a bare call object (the forced form), so
 *   it is held whole and parsed at the end.
 */
import type { AssistantToolCall } from '#shared/openai-tools.ts';
import { callsInBlock, mayCall, newCallId, parseToolCalls, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, type ToolOffer } from './tool-calls.ts';

export type ToolStreamPiece = { kind: 'content'; text: string } | { kind: 'call'; call: AssistantToolCall };

export interface ToolStreamSplitter {
  /** The pieces that can leave now that `text` was generated. */
  push(text: string): ToolStreamPiece[];
  /** The pieces still held when the answer ended. */
  end(): ToolStreamPiece[];
  /** Whether a call has left. */
  readonly called: boolean;
}

/** Length of the longest tail of `text` that is a proper prefix of `tag`. */
function partialTagAt(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) if (text.endsWith(tag.slice(0, n))) return n;
  return 0;
}

/** A splitter for one answer; `offer` the functions offered, `id` numbers the calls. */
export function toolStreamSplitter(offer: ToolOffer, id: () => string = newCallId): ToolStreamSplitter {
  const names = offer.names;
  let mode: 'lead' | 'whole' | 'text' | 'block' = 'lead';
  // Text not yet sent: leading whitespace ('lead'), the whole answer ('whole'), an unsent tail
  // ('text'), or what follows `<tool_call>` ('block').
  let held = '';
  let called = false;
  let made = 0;
  let afterCall = false;

  const content = (text: string, out: ToolStreamPiece[]) => {
    if (text !== '') out.push({ kind: 'content', text });
  };
  const calls = (found: AssistantToolCall[], out: ToolStreamPiece[]) => {
    called = true;
    made += found.length;
    for (const call of found) out.push({ kind: 'call', call });
  };
  /** The block's calls, when they may be made (else the block stays text). */
  const allowed = (found: AssistantToolCall[] | undefined) => (found && mayCall(offer, made, found) ? found : undefined);

  /** Move through `held` as far as it can be decided. */
  function advance(out: ToolStreamPiece[]): void {
    for (;;) {
      if (mode === 'lead') {
        const first = held.search(/\S/);
        if (first < 0) return;
        mode = held[first] === '{' || held[first] === '[' ? 'whole' : 'text';
      }
      if (mode === 'whole') return;
      if (mode === 'text') {
        if (afterCall) {
          held = held.trimStart();
          if (held === '') return;
          afterCall = false;
        }
        const open = held.indexOf(TOOL_CALL_OPEN);
        if (open < 0) {
          const partial = partialTagAt(held, TOOL_CALL_OPEN);
          const sendable = held.slice(0, held.length - partial).trimEnd();
          content(sendable, out);
          held = held.slice(sendable.length);
          return;
        }
        content(held.slice(0, open).trimEnd(), out);
        held = held.slice(open + TOOL_CALL_OPEN.length);
        mode = 'block';
      }
      const close = held.indexOf(TOOL_CALL_CLOSE);
      if (close < 0) return;
      const inner = held.slice(0, close);
      const found = allowed(callsInBlock(inner, names, id));
      if (found) calls(found, out);
      else content(TOOL_CALL_OPEN + inner + TOOL_CALL_CLOSE, out);
      held = held.slice(close + TOOL_CALL_CLOSE.length);
      // Whitespace right after a call only separates it from what follows.
      mode = 'text';
      afterCall = found !== undefined;
    }
  }

  return {
    push(text) {
      held += text;
      const out: ToolStreamPiece[] = [];
      advance(out);
      return out;
    },
    end() {
      const out: ToolStreamPiece[] = [];
      if (mode === 'whole') {
        const parsed = parseToolCalls(held, offer, id);
        content(parsed.content ?? '', out);
        if (parsed.calls.length > 0) calls(parsed.calls, out);
      } else if (mode === 'block') {
        // An unclosed block reads to the end, as in tool-calls.ts.
        const found = allowed(callsInBlock(held, names, id));
        if (found) calls(found, out);
        else content(TOOL_CALL_OPEN + held, out);
      } else if (!called || held.trim() !== '') content(held, out);
      held = '';
      return out;
    },
    get called() {
      return called;
    },
  };
}
